/**
 * The consumer runs of the failover matrix: the native producer writing at a fixed rate, one consumer client reading
 * and committing while a node fails, then a fresh consumer of the group checked to resume at the committed offsets.
 */
import { uniqueName } from "../../dev/testing.ts";
import { appendGaps, appendTimeTopic } from "../../tests/cluster/helpers.ts";
import { produceKnownSet, readTopic, testKafka, type TopicRecord } from "../../tests/reliability/harness.ts";
import {
  bounded,
  capturingLogger,
  committedOffsets,
  countMessage,
  deleteTopic,
  highWatermarks,
  logMessages,
  poll,
  settleWithin,
  sleep,
  TIMED_OUT,
  writeMarkers,
} from "./common.ts";
import { type ConsumerProbe, type ConsumerUnderTest, type NextOffsets, openConsumer } from "./consumer_clients.ts";
import { consumeGaps, firstConsumedAfter } from "./consume_timing.ts";
import type { ConsumerClient, ConsumerFault, ConsumerRunResult, RunOptions } from "./types.ts";

/** One consumer run: the native producer writing at `rate`, the consumer reading and committing, a node failing. */
export async function consumerRun(
  { cluster, client, fault, seed, matrix: o }: RunOptions<ConsumerClient, ConsumerFault>,
): Promise<ConsumerRunResult> {
  const scenario = `consumer/${client}/${fault}`;
  const notes: string[] = [];
  const kafka = await testKafka(cluster.brokerList);
  const topic = await appendTimeTopic(kafka, `fc-c-${client}`);
  const group = uniqueName(`fc-group-${client}`);
  await cluster.waitInSync([topic], 60_000);
  const { logger, lines } = capturingLogger(`bench-consumer-${client}`);
  const times = new Map<number, number[]>();
  const deliveries = new Map<string, number>();
  /** When each record (`partition@offset`) was first consumed. */
  const firstAt = new Map<string, number>();
  const next: NextOffsets = new Map();
  const commitErrorMessages: Record<string, number> = {};
  let commits = 0;
  let commitErrors = 0;
  let commitsDeferred = 0;
  let restarts = 0;
  let crashed = false;
  const probe: ConsumerProbe = {
    handled(partition, offset) {
      const now = Date.now();
      let list = times.get(partition);
      if (!list) times.set(partition, list = []);
      list.push(now);
      const key = `${partition}@${offset}`;
      const n = deliveries.get(key) ?? 0;
      deliveries.set(key, n + 1);
      if (n === 0) firstAt.set(key, now);
      next.set(partition, Math.max(next.get(partition) ?? 0, offset + 1));
    },
    commitOk: () => commits++,
    commitError(e) {
      commitErrors++;
      countMessage(commitErrorMessages, e);
    },
    commitDeferred: () => commitsDeferred++,
    restarted(e) {
      restarts++;
      countMessage(commitErrorMessages, `restart: ${e instanceof Error ? e.message : String(e)}`);
    },
    crashed(e) {
      crashed = true;
      countMessage(commitErrorMessages, e);
    },
  };
  const abort = new AbortController();
  const start = Date.now();
  let victim = -1;
  let controller = -1;
  let coordinator = -1;
  let led: number[] = [];
  let faultAt = 0;
  let caughtUpAt = 0;
  let producerAcked = 0;
  let producerFailed = 0;
  let finished = false;
  let consumer: ConsumerUnderTest | undefined;
  let run: ReturnType<typeof produceKnownSet> | undefined;
  let committer: ReturnType<typeof setInterval> | undefined;
  let committing: Promise<void> | undefined;
  try {
    consumer = await bounded(
      openConsumer({ client, brokers: cluster.brokerList, topic, group, next, probe, logger, bound: abort.signal }),
      60_000,
      "consumer start",
    );
    const c = consumer;
    await bounded(c.assigned, 60_000, "the consumer's assignment of 3 partitions");
    committer = setInterval(() => {
      committing ??= c.commitHandled().finally(() => committing = undefined);
    }, 500);
    run = produceKnownSet({
      brokers: cluster.brokerList,
      topic,
      count: Math.round(o.rate * o.seconds),
      rate: o.rate,
      sensors: o.sensors,
      seed,
    });
    const producer = run;
    await bounded(producer.handle.ready, 60_000, "the producer");
    if (!await poll(() => deliveries.size > 0, 30_000, 50)) notes.push("nothing consumed within 30 s");
    coordinator = await cluster.coordinatorOf(group, 30_000);
    const state = await cluster.describe([topic]);
    victim = fault === "coordinator-sigkill"
      ? coordinator
      : (state.find((p) => p.leader !== coordinator) ?? state[0]).leader;
    if (fault === "leader-sigkill" && victim === coordinator) notes.push("every partition is led by the coordinator");
    led = state.filter((p) => p.leader === victim).map((p) => p.partition);
    controller = await cluster.activeController();
    await sleep(o.faultAfterMs);
    faultAt = Date.now();
    await cluster.node(victim).kill("SIGKILL");
    await sleep(Math.max(0, faultAt + o.restartAfterMs - Date.now()));
    await bounded(cluster.restart(victim), 90_000, "restart of the victim").catch((e) => notes.push(e.message));
    const result = await bounded(producer.done, o.seconds * 1000 + 120_000, "the producer run");
    producerAcked = result.acknowledged;
    producerFailed = result.failed;
    const high = await highWatermarks(kafka, topic);
    caughtUpAt = await poll(
        () => [0, 1, 2].every((p) => (next.get(p) ?? 0) >= (high[p] ?? 0)),
        o.boundMs,
        100,
      )
      ? Date.now()
      : 0;
    // A last commit of everything handled, then the consumer leaves.
    await sleep(600);
    await settleWithin(committing ?? Promise.resolve(), 10_000);
    clearInterval(committer);
    committer = undefined;
    await settleWithin(c.commitHandled(), 15_000);
    finished = caughtUpAt > 0;
  } finally {
    clearInterval(committer);
    abort.abort();
    await run?.handle.stop().catch(() => {});
    if (consumer && await settleWithin(consumer.close(), 30_000) === TIMED_OUT) notes.push("close hung (30 s)");
    if (victim >= 0 && !cluster.node(victim).running) {
      await bounded(cluster.restart(victim), 90_000, "restart").catch(() => {});
    }
  }
  const runMs = Date.now() - start;
  await cluster.waitInSync([topic], 90_000).catch((e) => notes.push((e as Error).message));
  const records: TopicRecord[] = await readTopic(kafka, topic, 60_000);
  const appended = appendGaps(records, faultAt).maxGapAfterFaultMs;
  let missing = 0;
  let redelivered = 0;
  for (const r of records) {
    const n = deliveries.get(`${r.partition}@${r.offset}`) ?? 0;
    if (n === 0) missing++;
    else redelivered += n - 1;
  }
  const gap = consumeGaps(times, faultAt);
  const first = firstConsumedAfter(records, firstAt, faultAt);

  // Resume check: the committed offsets, then a fresh consumer of the group on a few new records.
  const committed = await committedOffsets(kafka, group, topic).catch((e) => {
    notes.push(`committed offsets: ${(e as Error).message}`);
    return { 0: -1, 1: -1, 2: -1 } as Record<number, number>;
  });
  const freshStart: Record<number, number | null> = { 0: null, 1: null, 2: null };
  let belowCommittedAllConsumed = true;
  for (const p of [0, 1, 2]) {
    for (let off = 0; off < committed[p]; off++) {
      if (!deliveries.has(`${p}@${off}`)) {
        belowCommittedAllConsumed = false;
        break;
      }
    }
  }
  try {
    await writeMarkers(kafka, topic, 3);
    const seen = new Map<number, number>();
    const freshProbe: ConsumerProbe = {
      handled: (p, off) => {
        if (!seen.has(p)) seen.set(p, off);
      },
      commitOk: () => {},
      commitError: () => {},
      commitDeferred: () => {},
      restarted: () => {},
      crashed: () => {},
    };
    const freshAbort = new AbortController();
    const fresh = await bounded(
      openConsumer({
        client,
        brokers: cluster.brokerList,
        topic,
        group,
        next: new Map(),
        probe: freshProbe,
        logger,
        bound: freshAbort.signal,
      }),
      60_000,
      "fresh consumer start",
    );
    try {
      await poll(() => seen.size === 3, 45_000, 100);
    } finally {
      freshAbort.abort();
      await settleWithin(fresh.close(), 30_000);
    }
    for (const [p, off] of seen) freshStart[p] = off;
  } catch (e) {
    notes.push(`resume check: ${(e as Error).message}`);
  }
  const resumeExact = belowCommittedAllConsumed &&
    [0, 1, 2].every((p) => committed[p] >= 0 && freshStart[p] === committed[p]);
  await deleteTopic(kafka, topic);
  const warnings = lines.filter((l) => /"level":"(warn|error)"/.test(l));
  if (client === "kafkajs") restarts += warnings.filter((l) => l.includes("Consumer restarting after an error")).length;
  return {
    scenario,
    kind: "consumer",
    client,
    fault,
    rate: o.rate,
    seconds: o.seconds,
    victim,
    coordinator,
    controller,
    victimLedPartitions: led,
    producerAcked,
    producerFailed,
    inTopic: records.length,
    consumedDistinct: records.length - missing,
    missing,
    redelivered,
    maxConsumeGapAfterFaultMs: gap,
    firstConsumedAfterFaultMs: first,
    appendGapAfterFaultMs: appended,
    commits,
    commitErrors,
    commitsDeferred,
    commitErrorMessages,
    crashed,
    restarts,
    logWarnings: warnings.length,
    warningMessages: logMessages(warnings),
    caughtUp: caughtUpAt > 0,
    caughtUpAfterFaultMs: caughtUpAt ? caughtUpAt - faultAt : null,
    committed,
    freshStart,
    resumeExact,
    finished,
    runMs,
    notes: [...new Set(notes)],
  };
}
