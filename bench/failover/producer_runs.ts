/**
 * The producer runs of the failover matrix: a known set at a fixed rate through one client while partition 0's
 * leader fails and comes back, then the topic read back against what the client acknowledged.
 */
import { decodeReading } from "@iot/shared";
import { FleetGenerator, type GeneratedRecord } from "@iot/producer";
import type { RecordSender, SendOutcome } from "../../producer/record_sender.ts";
import { InFlight } from "../../producer/in_flight.ts";
import { checkTopic } from "../../tests/cluster/helpers.ts";
import { readTopic, testKafka } from "../../tests/reliability/harness.ts";
import {
  bounded,
  capturingLogger,
  countMessage,
  deleteTopic,
  poll,
  settleWithin,
  sleep,
  TIMED_OUT,
  victimTopic,
  worstGap,
} from "./common.ts";
import { openSender } from "./producer_clients.ts";
import type { ProducerClient, ProducerFault, ProducerRunResult, RunOptions } from "./types.ts";

/** One producer run: a known set at `rate` for `seconds`, the leader of partition 0 failing and coming back. */
export async function producerRun(
  { cluster, client, fault, seed, matrix: o }: RunOptions<ProducerClient, ProducerFault>,
): Promise<ProducerRunResult> {
  const scenario = `producer/${client}/${fault}`;
  const notes: string[] = [];
  const kafka = await testKafka(cluster.brokerList);
  const { topic, victim, controller, affected } = await victimTopic(cluster, kafka, `fc-p-${client}`, fault);
  const { logger, lines } = capturingLogger(`bench-${client}`);
  const generator = new FleetGenerator({ sensors: o.sensors, seed, anomalyRate: 0.05 });
  const total = Math.round(o.rate * o.seconds);
  const acked = new Set<string>();
  const failedKeys = new Set<string>();
  const errorMessages: Record<string, number> = {};
  let ackedCount = 0;
  let failedCount = 0;
  let errors = 0;
  let sent = 0;
  let settledRecords = 0;
  let firstAckAt = 0;
  let sender: RecordSender | undefined;
  let faultAt = 0;
  let runMs = 0;
  let finished = false;
  const queue: GeneratedRecord[] = [];
  try {
    const opened = await bounded(openSender({ client, brokers: cluster.brokerList, topic, logger }), 60_000, "connect");
    sender = opened.sender;
    const s = sender;
    const inFlight = new InFlight({ maxSends: opened.sends, maxRecords: 100_000, stalled: (l) => s.stalled(l) });
    const onOutcome = (records: GeneratedRecord[], out: SendOutcome) => {
      settledRecords += records.length;
      if (out.acked === records.length) {
        for (const r of records) acked.add(`${r.key}:${r.seq}`);
        if (!firstAckAt) firstAckAt = Date.now();
      } else if (out.acked > 0) notes.push(`a send of ${records.length} was acknowledged in part (${out.acked})`);
      else for (const r of records) failedKeys.add(`${r.key}:${r.seq}`);
      ackedCount += out.acked;
      failedCount += out.failed;
      if (out.failed > 0) {
        errors++;
        countMessage(errorMessages, out.error ?? "failed");
      }
    };
    const start = Date.now();
    let generated = 0;
    let generating = true;
    // Generation at the schedule: each reading stamped with its scheduled time; the backlog waits in `queue`.
    const generation = (async () => {
      while (generated < total) {
        const due = Math.min(total, Math.floor(((Date.now() - start) * o.rate) / 1000)) - generated;
        if (due > 0) {
          const base = generated;
          generator.fill(queue, due, (i) => start + ((base + i) * 1000) / o.rate);
          generated += due;
        }
        await sleep(20);
      }
      generating = false;
    })();
    // The send loop: batches of at most 2,000 records while the producer's back-pressure allows.
    const sending = (async () => {
      while (generating || queue.length > 0) {
        if (queue.length === 0 || inFlight.full()) {
          await inFlight.changed(20);
          continue;
        }
        const batch = queue.splice(0, 2000);
        sent += batch.length;
        const parts = s.send(batch);
        const done = inFlight.begin(parts.map((p) => ({ lane: p.lane, records: p.records.length })));
        parts.forEach((part, i) =>
          part.outcome.then(
            (out) => onOutcome(part.records, out),
            (e) => onOutcome(part.records, { acked: 0, failed: part.records.length, error: e as Error }),
          ).finally(done[i])
        );
        await sleep(5); // the producer's linger
      }
    })();
    if (!await poll(() => firstAckAt > 0, 30_000, 50)) notes.push("no acknowledgement within 30 s of the start");
    await sleep(o.faultAfterMs);
    faultAt = Date.now();
    await cluster.node(victim).kill(fault === "leader-sigterm" ? "SIGTERM" : "SIGKILL");
    await sleep(Math.max(0, faultAt + o.restartAfterMs - Date.now()));
    await bounded(cluster.restart(victim), 90_000, "restart of the victim").catch((e) => notes.push(e.message));
    await generation;
    // The bound: every record handed over and settled within `boundMs` of the last one generated.
    const deadline = start + o.seconds * 1000 + o.boundMs;
    finished = await poll(() => queue.length === 0 && settledRecords === sent, deadline - Date.now(), 50);
    runMs = Date.now() - start;
    generating = false;
    queue.length = 0; // a wedged client: stop feeding it
    await settleWithin(sending, 1000);
  } finally {
    if (sender) {
      if (await settleWithin(sender.close().catch(() => {}), 10_000) === TIMED_OUT) {
        notes.push("close did not return within 10 s");
      }
    }
    if (!cluster.node(victim).running) await bounded(cluster.restart(victim), 90_000, "restart").catch(() => {});
  }
  await cluster.waitInSync([topic], 90_000).catch((e) => notes.push((e as Error).message));
  const records = await readTopic(kafka, topic, 60_000);
  const sequences = generator.sequences();
  const check = checkTopic(records, sequences, faultAt);
  const inTopic = new Set<string>();
  for (const r of records) {
    const d = decodeReading(r.value);
    if (d.ok) inTopic.add(`${d.reading.sensor_id}:${d.reading.seq}`);
  }
  const lostKeys = [...acked].filter((k) => !inTopic.has(k));
  const unaffected = [0, 1, 2].filter((p) => !affected.includes(p));
  await deleteTopic(kafka, topic);
  return {
    scenario,
    kind: "producer",
    client,
    fault,
    rate: o.rate,
    seconds: o.seconds,
    victim,
    controller,
    affectedPartitions: affected,
    generated: check.generated,
    sent,
    acked: ackedCount,
    failed: failedCount,
    unsettled: check.generated - ackedCount - failedCount,
    inTopic: check.inTopic,
    lost: lostKeys.length,
    lostExamples: lostKeys.slice(0, 5),
    failedButWritten: [...failedKeys].filter((k) => inTopic.has(k)).length,
    missing: check.missing,
    duplicated: check.duplicated,
    reordered: check.reordered,
    invalid: check.invalid,
    recoveryMs: worstGap(check, affected),
    stallOfOthersMs: worstGap(check, unaffected),
    maxGapAfterFaultMs: check.maxGapAfterFaultMs,
    firstAfterFaultMs: check.firstAfterFaultMs,
    errors,
    errorMessages,
    logWarnings: lines.length,
    finished,
    wedged: !finished,
    runMs,
    notes: [...new Set(notes)],
  };
}
