/**
 * Failover matrix of Kafka clients on a local 3-node cluster (RF 3,
 * `min.insync.replicas=2`), for issue #14: which client recovers faster
 * without loss.
 *
 * `deno run -A bench/failover_clients.ts [--scenarios a,b] [--rate N] [--seconds N]`
 *
 * One `LocalKafkaCluster` for the whole run; per scenario a fresh topic of 3
 * partitions stamped with the broker's append time (`LogAppendTime`), so that
 * stalls are read from the log itself.
 *
 * - Producer scenarios (`producer/<client>/<fault>`): clients `native` (our
 *   `producer/kafka`, through the producer's own `nativeSender`), `kafkajs`
 *   (the producer's `kafkajsSender`: idempotent, acks all, one send at a
 *   time) and `platformatic` (`@platformatic/kafka` `Producer`, idempotent,
 *   acks all, one send at a time, records routed to the same partitions as the
 *   others); faults: SIGKILL or SIGTERM of partition 0's leader, restarted
 *   `--restart-after` s later. A known per-sensor seq set is produced at a
 *   fixed rate (scheduled event times, the producer's back-pressure
 *   `InFlight`), every record the client acknowledged is remembered, and the
 *   topic is read back: acked, in topic, lost (acked and missing), duplicated,
 *   reordered per sensor, the stall of the partitions the victim did not lead
 *   and the recovery of those it led (longest gap between append times after
 *   the fault), and the errors the client reported. Every wait is bounded: a
 *   client whose sends have not settled `--bound` s after the last record was
 *   generated is reported `wedged`, not waited for.
 * - Consumer scenarios (`consumer/<client>/<fault>`): clients `kafkajs` (the
 *   processor's own source, `processor/source/consumer.ts`: group, eachBatch,
 *   manual commits of handled offsets) and `platformatic`
 *   (`@platformatic/kafka` `Consumer` in a group, `autocommit: false`, each
 *   partition's last handled message committed); faults: SIGKILL of the group
 *   coordinator, SIGKILL of a partition leader that is not the coordinator.
 *   While the native producer writes at a fixed rate, the consumer records the
 *   wall-clock time each record reached it and commits every 500 ms. Reported
 *   per partition: the longest gap between consumed records after the fault,
 *   the time from the fault to the first record consumed, records missing and
 *   consumed twice, commit errors, crashes and restarts; then a fresh consumer
 *   of the same group is started on a few marker records and must begin exactly
 *   at the committed offsets, with every offset below them consumed.
 *
 * Prints one JSON line per run on stdout and a markdown table at the end on
 * stderr; writes `bench/results/failover_clients.json` and `.md` (ignored by
 * git). Figures, not assertions: the exit code is 0 once every run reported,
 * 1 when a scenario could not run at all, 2 on a bad flag.
 * @module
 */
import { Consumer, type Message, Producer, stringSerializers } from "@platformatic/kafka";
import type { Batch, Kafka } from "kafkajs";
import {
  createKafka,
  createLogger,
  decodeReading,
  type Logger,
  parseFlags,
  runMain,
  usage,
  UsageError,
} from "@iot/shared";
import { FleetGenerator, type GeneratedRecord } from "@iot/producer";
import { kafkajsSender } from "../producer/kafkajs_sender.ts";
import { nativeSender, type RecordSender, type SendOutcome } from "../producer/record_sender.ts";
import { InFlight } from "../producer/in_flight.ts";
import { partitionForKey } from "../producer/kafka/partitioner.ts";
import { type Source, startSource } from "../processor/source/consumer.ts";
import { LocalKafkaCluster } from "../dev/kafka_cluster.ts";
import { uniqueName } from "../dev/testing.ts";
import { appendGaps, appendTimeTopic, checkTopic, inLogOrder, within } from "../tests/cluster/helpers.ts";
import { produceKnownSet, readTopic, sleep, testKafka, type TopicRecord } from "../tests/reliability/harness.ts";

/** Producer clients of the matrix. */
export type ProducerClient = "native" | "kafkajs" | "platformatic";
/** Consumer clients of the matrix. */
export type ConsumerClient = "kafkajs" | "platformatic";
/** Faults of the producer runs (the victim leads partition 0). */
export type ProducerFault = "leader-sigkill" | "leader-sigterm";
/** Faults of the consumer runs. */
export type ConsumerFault = "coordinator-sigkill" | "leader-sigkill";

/** Every scenario, in the order they run. */
export const SCENARIOS: readonly string[] = [
  ...(["native", "kafkajs", "platformatic"] as const).flatMap((c) =>
    (["leader-sigkill", "leader-sigterm"] as const).map((f) => `producer/${c}/${f}`)
  ),
  ...(["kafkajs", "platformatic"] as const).flatMap((c) =>
    (["coordinator-sigkill", "leader-sigkill"] as const).map((f) => `consumer/${c}/${f}`)
  ),
];

/** Settings shared by every run. */
export interface MatrixOptions {
  rate: number;
  seconds: number;
  /** From the first acknowledgement (producer) or consumed record (consumer) to the fault, ms. */
  faultAfterMs: number;
  /** From the fault to the restart of the victim, ms. */
  restartAfterMs: number;
  /** How long sends may stay unsettled after the last record was generated (producer), or the consumer may take to catch up after the producer finished, ms. */
  boundMs: number;
  sensors: number;
  log: (line: string) => void;
}

/** Figures of one producer run. */
export interface ProducerRunResult {
  scenario: string;
  kind: "producer";
  client: ProducerClient;
  fault: ProducerFault;
  rate: number;
  seconds: number;
  victim: number;
  affectedPartitions: number[];
  generated: number;
  /** Records handed to the client. */
  sent: number;
  acked: number;
  /** Records whose send the client reported as failed. */
  failed: number;
  /** Records still unsettled when the bound passed, or never handed over. */
  unsettled: number;
  inTopic: number;
  /** Acknowledged records missing from the topic. */
  lost: number;
  lostExamples: string[];
  /** Records whose send the client reported as failed that are in the topic all the same. */
  failedButWritten: number;
  /** Generated records missing from the topic (lost, failed or unsettled). */
  missing: number;
  duplicated: number;
  reordered: number;
  invalid: number;
  /**
   * Longest gap between appends after the fault on the partitions the victim led, ms; null when one of them had
   * no append after the fault at all (it never recovered within the run).
   */
  recoveryMs: number | null;
  /** The same on the other partitions, ms (null: one of them had no append after the fault). */
  stallOfOthersMs: number | null;
  maxGapAfterFaultMs: Record<number, number>;
  firstAfterFaultMs: Record<number, number>;
  /** Failed sends, and distinct error messages with their counts. */
  errors: number;
  errorMessages: Record<string, number>;
  /** Warning and error lines the client logged (kafkajs, native). */
  logWarnings: number;
  /** Every send settled within the bound. */
  finished: boolean;
  wedged: boolean;
  /** From the first send to the last settlement (or to the bound), ms. */
  runMs: number;
  notes: string[];
}

/** Figures of one consumer run. */
export interface ConsumerRunResult {
  scenario: string;
  kind: "consumer";
  client: ConsumerClient;
  fault: ConsumerFault;
  rate: number;
  seconds: number;
  victim: number;
  coordinator: number;
  victimLedPartitions: number[];
  /** Records the producer acknowledged, and failed. */
  producerAcked: number;
  producerFailed: number;
  inTopic: number;
  /** Distinct records consumed (by partition and offset). */
  consumedDistinct: number;
  /** Records in the topic never consumed. */
  missing: number;
  /** Deliveries beyond the first of a record. */
  redelivered: number;
  /** Per partition: longest gap between consumed records after the fault (the fault counts as the first), ms. */
  maxConsumeGapAfterFaultMs: Record<number, number>;
  /**
   * Per partition: from the fault to the first consumption of the first record appended after the fault (null:
   * never consumed), ms. Records appended before the fault but consumed after it do not count.
   */
  firstConsumedAfterFaultMs: Record<number, number | null>;
  /** Per partition: longest gap between appends after the fault (what the producer caused), ms. */
  appendGapAfterFaultMs: Record<number, number>;
  commits: number;
  commitErrors: number;
  /** Commits the kafkajs source deferred because the group was not joined. */
  commitsDeferred: number;
  commitErrorMessages: Record<string, number>;
  crashed: boolean;
  restarts: number;
  logWarnings: number;
  warningMessages: Record<string, number>;
  /** Consumed everything in the topic within the bound. */
  caughtUp: boolean;
  /** From the fault to having consumed the whole topic, polled once the producer finished (so not below its end), ms. */
  caughtUpAfterFaultMs: number | null;
  /** Committed offsets of the group after the run, per partition (-1: none). */
  committed: Record<number, number>;
  /** Per partition: the first offset a fresh consumer of the group read (null: none within the bound). */
  freshStart: Record<number, number | null>;
  /** A fresh consumer started exactly at the committed offsets, and every offset below them was consumed. */
  resumeExact: boolean;
  finished: boolean;
  runMs: number;
  notes: string[];
}

/** One run's figures. */
export type RunResult = ProducerRunResult | ConsumerRunResult;

const TIMED_OUT = Symbol("timed out");

/** `p`'s value, or `TIMED_OUT` after `ms` (`p` keeps running; its rejection is returned as thrown). */
async function settleWithin<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<typeof TIMED_OUT>((r) => timer = setTimeout(() => r(TIMED_OUT), ms))]);
  } finally {
    clearTimeout(timer);
  }
}

/** `p`'s value, or an error naming `what` after `ms`. */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return within(p, ms, `${what}: not within ${Math.round(ms / 1000)} s`);
}

/** Polls `check` every `intervalMs` until true; false after `ms`. */
async function poll(check: () => boolean | Promise<boolean>, ms: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(intervalMs);
  }
  return check();
}

/** Adds an error's first line to a count of messages (numbers and ids blurred so that alike ones add up). */
function countMessage(into: Record<string, number>, e: unknown): void {
  const text = (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).split("\n")[0].slice(0, 160)
    .replace(/\d+/g, "N");
  into[text] = (into[text] ?? 0) + 1;
}

/** A logger that keeps the warning and error lines of a client (JSON). */
function capturingLogger(name: string): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, logger: createLogger({ name, level: "warn", format: "json", write: (l) => lines.push(l) }) };
}

/** Counts of the `msg` fields of captured JSON log lines. */
function logMessages(lines: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) {
    let msg = l;
    try {
      const o = JSON.parse(l) as { msg?: string; error?: { message?: string } | string };
      const err = typeof o.error === "string" ? o.error : o.error?.message;
      msg = `${o.msg ?? ""}${err ? `: ${err}` : ""}`;
    } catch { /* kept as is */ }
    const key = msg.slice(0, 160).replace(/\d+/g, "N");
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** Deletes a topic, ignoring failures. */
async function deleteTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  try {
    await bounded(admin.connect(), 10_000, "admin connect");
    await bounded(admin.deleteTopics({ topics: [topic], timeout: 10_000 }), 15_000, "delete topic");
  } catch { /* left behind: the cluster is temporary */ }
  await admin.disconnect().catch(() => {});
}

// ---------------------------------------------------------------------------------------------------------------
// Producer matrix

/** A `RecordSender` on a `@platformatic/kafka` producer: idempotent, acks all, each record to its murmur2 partition. */
async function platformaticSender(brokers: string[], topic: string): Promise<RecordSender> {
  const producer = new Producer<string, string, string, string>({
    clientId: "failover-bench-platformatic",
    bootstrapBrokers: brokers,
    idempotent: true,
    acks: -1,
    serializers: stringSerializers,
  });
  // The first send initialises the producer id; doing it now makes "ready" mean ready.
  await producer.initIdempotentProducer({});
  const keys = new Map<string, number>();
  const encoder = new TextEncoder();
  const partitionOf = (key: string) => {
    let p = keys.get(key);
    if (p === undefined) keys.set(key, p = partitionForKey(encoder.encode(key), 3));
    return p;
  };
  return {
    send: (records) => {
      const messages = records.map((r) => ({
        topic,
        key: r.key,
        value: r.value as string,
        partition: partitionOf(r.key),
      }));
      const outcome: Promise<SendOutcome> = producer.send({ messages }).then(
        () => ({ acked: records.length, failed: 0 }),
        (e) => ({ acked: 0, failed: records.length, error: e as Error }),
      );
      return [{ lane: 0, records, outcome }];
    },
    stalled: () => false,
    close: () => producer.close(true),
  };
}

/** Opens the sending client of a producer run; `sends` is how many sends it may have pending at once. */
async function openSender(
  client: ProducerClient,
  brokers: string[],
  topic: string,
  logger: Logger,
): Promise<{ sender: RecordSender; sends: number }> {
  if (client === "native") {
    const sender = await nativeSender({
      brokers,
      clientId: "failover-bench-native",
      topic,
      acks: -1,
      idempotent: true,
      compression: "none",
      logger,
      maxInFlight: 5,
    });
    return { sender, sends: 4 };
  }
  if (client === "kafkajs") {
    // As the producer's `--client kafkajs`: retries 10, at most 5 s apart, one send at a time when idempotent.
    const k = await createKafka({ brokers, clientId: "failover-bench" }, {
      role: "kafkajs",
      logger,
      overrides: { retry: { initialRetryTime: 100, retries: 10, maxRetryTime: 5000 } },
    });
    const sender = await kafkajsSender(k, {
      brokers,
      clientId: "failover-bench-kafkajs",
      topic,
      acks: -1,
      idempotent: true,
      compression: "none",
      retries: 10,
      logger,
      maxInFlight: 1,
    });
    return { sender, sends: 1 };
  }
  return { sender: await platformaticSender(brokers, topic), sends: 1 };
}

/** One producer run: a known set at `rate` for `seconds`, the leader of partition 0 failing and coming back. */
export async function producerRun(
  cluster: LocalKafkaCluster,
  client: ProducerClient,
  fault: ProducerFault,
  o: MatrixOptions,
  seed: number,
): Promise<ProducerRunResult> {
  const scenario = `producer/${client}/${fault}`;
  const notes: string[] = [];
  const kafka = await testKafka(cluster.brokerList);
  const topic = await appendTimeTopic(kafka, `fc-p-${client}`);
  await cluster.waitInSync([topic], 60_000);
  const before = await cluster.describe([topic]);
  const victim = before.find((p) => p.partition === 0)!.leader;
  const affected = before.filter((p) => p.leader === victim).map((p) => p.partition);
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
    const opened = await bounded(openSender(client, cluster.brokerList, topic, logger), 60_000, "connect");
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
  const worstGap = (partitions: number[]) =>
    partitions.some((p) => check.firstAfterFaultMs[p] === undefined)
      ? null
      : Math.max(0, ...partitions.map((p) => check.maxGapAfterFaultMs[p] ?? 0));
  await deleteTopic(kafka, topic);
  return {
    scenario,
    kind: "producer",
    client,
    fault,
    rate: o.rate,
    seconds: o.seconds,
    victim,
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
    recoveryMs: worstGap(affected),
    stallOfOthersMs: worstGap(unaffected),
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

// ---------------------------------------------------------------------------------------------------------------
// Consumer matrix

/** What a consumer under test reports: each record as it is handled, and its commits. */
interface ConsumerProbe {
  /** A record handled now (partition, offset). */
  handled(partition: number, offset: number): void;
  commitOk(): void;
  commitError(e: unknown): void;
  commitDeferred(): void;
  restarted(e: unknown): void;
  crashed(e: unknown): void;
}

/** A consumer under test. */
interface ConsumerUnderTest {
  /** Resolves once the group assigned it every partition of the topic. */
  assigned: Promise<void>;
  /** Commits the next offsets of what was handled (one attempt). */
  commitHandled(): Promise<void>;
  close(): Promise<void>;
}

/** Highest handled offset + 1 per partition (what to commit). */
type NextOffsets = Map<number, number>;

/** The processor's kafkajs source, fed to a probe; commits through `Source.commit` as the processor's committer. */
async function kafkajsConsumer(
  brokers: string[],
  topic: string,
  group: string,
  next: NextOffsets,
  probe: ConsumerProbe,
  logger: Logger,
): Promise<ConsumerUnderTest> {
  const kafka = await createKafka({ brokers, clientId: "failover-bench" }, { role: "processor", logger });
  const admin = kafka.admin();
  await admin.connect();
  let assignedAll!: () => void;
  const assigned = new Promise<void>((r) => assignedAll = r);
  const source: Source = await startSource({
    kafka,
    admin,
    groupId: group,
    topic,
    fromBeginning: true,
    log: logger,
    handlers: {
      onRebalancing: () => {},
      onAssigned: (partitions) => {
        if (partitions.length === 3) assignedAll();
      },
      onCommitted: () => {},
      onFatal: () => probe.crashed(new Error("kafkajs consumer crashed without restart")),
      onBatch: (batch: Batch, _heartbeat, isStale) => {
        if (isStale() || batch.messages.length === 0) return Promise.resolve(undefined);
        for (const m of batch.messages) probe.handled(batch.partition, Number(m.offset));
        return Promise.resolve(batch.messages[batch.messages.length - 1].offset);
      },
    },
  });
  return {
    assigned,
    async commitHandled() {
      const offsets = [...next].map(([partition, offset]) => ({ partition, offset }));
      if (offsets.length === 0) return;
      try {
        // As the processor: wait up to 1 s for a joined group, else defer to the next flush.
        const done = await source.commit(offsets, source.generation, 1000);
        if (done.length === 0) probe.commitDeferred();
        else probe.commitOk();
      } catch (e) {
        probe.commitError(e);
      }
    },
    async close() {
      await source.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    },
  };
}

/**
 * A `@platformatic/kafka` consumer in a group (`autocommit: false`, from the committed offsets, else the earliest),
 * each partition's last handled message committed. A stream that fails is closed and consumed anew (counted as a
 * restart), as an application would have to.
 */
function platformaticConsumer(
  brokers: string[],
  topic: string,
  group: string,
  probe: ConsumerProbe,
  bound: AbortSignal,
): ConsumerUnderTest {
  const consumer = new Consumer({
    clientId: "failover-bench-platformatic",
    bootstrapBrokers: brokers,
    groupId: group,
    autocommit: false,
    // The processor's group timing.
    sessionTimeout: 30_000,
    heartbeatInterval: 3000,
  });
  const last = new Map<number, Message>();
  let assignedAll!: () => void;
  const assigned = new Promise<void>((r) => assignedAll = r);
  consumer.on("consumer:group:join", (p) => {
    const mine = p.assignments?.find((a) => a.topic === topic)?.partitions ?? [];
    if (mine.length === 3) assignedAll();
  });
  let closing = false;
  let stream: Awaited<ReturnType<typeof consumer.consume>> | undefined;
  const consume = async (): Promise<void> => {
    while (!closing && !bound.aborted) {
      try {
        const s = await consumer.consume({
          topics: [topic],
          mode: "committed",
          fallbackMode: "earliest",
          autocommit: false,
          sessionTimeout: 30_000,
          heartbeatInterval: 3000,
        });
        stream = s;
        const failed = new Promise<unknown>((resolve) => {
          s.on("error", resolve);
          s.on("close", () => resolve(undefined));
        });
        s.on("data", (m: Message) => {
          probe.handled(m.partition, Number(m.offset));
          last.set(m.partition, m);
        });
        const reason = await failed;
        if (closing) return;
        probe.restarted(reason ?? new Error("stream closed"));
        await s.close().catch(() => {});
      } catch (e) {
        if (closing) return;
        probe.restarted(e);
        await sleep(500);
      }
      last.clear(); // a new stream: messages of the old one are not committed through it
    }
  };
  const running = consume();
  return {
    assigned,
    async commitHandled() {
      const todo = [...last.values()];
      last.clear();
      if (todo.length === 0) return;
      try {
        await Promise.all(todo.map((m) => m.commit()));
        probe.commitOk();
      } catch (e) {
        probe.commitError(e);
      }
    },
    async close() {
      closing = true;
      if (stream) await settleWithin(stream.close().catch(() => {}), 10_000);
      await settleWithin(consumer.close(true).catch(() => {}), 10_000);
      await settleWithin(running, 5000);
    },
  };
}

/** Per partition: the longest gap between consumption times after `faultAt`, the fault counting as the first. */
function consumeGaps(times: Map<number, number[]>, faultAt: number): Record<number, number> {
  const gap: Record<number, number> = {};
  for (const p of [0, 1, 2]) {
    const list = (times.get(p) ?? []).filter((t) => t >= faultAt).sort((a, b) => a - b);
    let previous = faultAt;
    let g = 0;
    for (const t of list) {
      g = Math.max(g, t - previous);
      previous = t;
    }
    gap[p] = g;
  }
  return gap;
}

/** Per partition: from `faultAt` to the first consumption of the first record appended at or after it. */
function firstConsumedAfter(
  records: readonly TopicRecord[],
  firstAt: ReadonlyMap<string, number>,
  faultAt: number,
): Record<number, number | null> {
  const out: Record<number, number | null> = { 0: null, 1: null, 2: null };
  for (const [p, list] of inLogOrder(records)) {
    const first = list.find((r) => r.timestamp >= faultAt);
    if (!first) continue;
    const t = firstAt.get(`${p}@${first.offset}`);
    out[p] = t === undefined ? null : t - faultAt;
  }
  return out;
}

/** Committed offsets of a group on a topic (partitions without a commit: -1). */
async function committedOffsets(kafka: Kafka, group: string, topic: string): Promise<Record<number, number>> {
  const admin = kafka.admin();
  await bounded(admin.connect(), 10_000, "admin connect");
  try {
    const out: Record<number, number> = { 0: -1, 1: -1, 2: -1 };
    const topics = await bounded(admin.fetchOffsets({ groupId: group, topics: [topic] }), 15_000, "fetch offsets");
    for (const p of topics[0]?.partitions ?? []) out[p.partition] = Number(p.offset);
    return out;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** High watermarks of a topic, per partition. */
async function highWatermarks(kafka: Kafka, topic: string): Promise<Record<number, number>> {
  const admin = kafka.admin();
  await bounded(admin.connect(), 10_000, "admin connect");
  try {
    const out: Record<number, number> = {};
    for (const p of await bounded(admin.fetchTopicOffsets(topic), 15_000, "topic offsets")) {
      out[p.partition] = Number(p.high);
    }
    return out;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Writes `perPartition` marker records (not readings) to each partition. */
async function writeMarkers(kafka: Kafka, topic: string, perPartition: number): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await bounded(producer.connect(), 15_000, "marker producer connect");
  try {
    for (const partition of [0, 1, 2]) {
      const messages = Array.from({ length: perPartition }, (_, i) => ({ partition, value: `marker-${i}` }));
      await bounded(producer.send({ topic, acks: -1, messages }), 30_000, "marker send");
    }
  } finally {
    await producer.disconnect().catch(() => {});
  }
}

/** Opens a consumer under test of `client`. */
async function openConsumer(
  client: ConsumerClient,
  brokers: string[],
  topic: string,
  group: string,
  next: NextOffsets,
  probe: ConsumerProbe,
  logger: Logger,
  bound: AbortSignal,
): Promise<ConsumerUnderTest> {
  return client === "kafkajs"
    ? await kafkajsConsumer(brokers, topic, group, next, probe, logger)
    : platformaticConsumer(brokers, topic, group, probe, bound);
}

/** One consumer run: the native producer writing at `rate`, the consumer reading and committing, a node failing. */
export async function consumerRun(
  cluster: LocalKafkaCluster,
  client: ConsumerClient,
  fault: ConsumerFault,
  o: MatrixOptions,
  seed: number,
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
      openConsumer(client, cluster.brokerList, topic, group, next, probe, logger, abort.signal),
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
      openConsumer(client, cluster.brokerList, topic, group, new Map(), freshProbe, logger, freshAbort.signal),
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

// ---------------------------------------------------------------------------------------------------------------
// Output

function ms(v: number | null | undefined): string {
  return v === null || v === undefined ? "never" : (v / 1000).toFixed(1);
}

function perPartition(r: Record<number, number | null>): string {
  return [0, 1, 2].map((p) => ms(r[p])).join(" / ");
}

/** The markdown tables of a matrix's results (producer runs, then consumer runs). */
export function markdownTable(results: readonly RunResult[]): string {
  const out: string[] = [];
  const producers = results.filter((r): r is ProducerRunResult => r.kind === "producer");
  const consumers = results.filter((r): r is ConsumerRunResult => r.kind === "consumer");
  if (producers.length) {
    out.push(
      "| Producer run | Generated | Acked | Failed (of them written) | Unsettled | In topic | Lost | Dup | Reordered | Recovery (s) | Stall of others (s) | Errors | Finished |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const r of producers) {
      out.push(
        `| ${r.scenario} (victim ${r.victim}, led ${
          r.affectedPartitions.join(",")
        }) | ${r.generated} | ${r.acked} | ${r.failed} (${r.failedButWritten}) | ${r.unsettled} | ${r.inTopic} | ${r.lost} | ${r.duplicated} | ${r.reordered} | ${
          ms(r.recoveryMs)
        } | ${ms(r.stallOfOthersMs)} | ${r.errors} | ${r.finished ? "yes" : "**wedged**"} |`,
      );
    }
  }
  if (consumers.length) {
    if (out.length) out.push("");
    out.push(
      "| Consumer run | In topic | Missing | Redelivered | Longest consume gap after fault p0/p1/p2 (s) | First post-fault record consumed p0/p1/p2 (s) | Append gap p0/p1/p2 (s) | Commit errors / deferred | Crashed / restarts | Caught up | Resume exact |",
      "|---|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const r of consumers) {
      out.push(
        `| ${r.scenario} (victim ${r.victim}, coordinator ${r.coordinator}, led ${
          r.victimLedPartitions.join(",")
        }) | ${r.inTopic} | ${r.missing} | ${r.redelivered} | ${perPartition(r.maxConsumeGapAfterFaultMs)} | ${
          perPartition(r.firstConsumedAfterFaultMs)
        } | ${perPartition(r.appendGapAfterFaultMs)} | ${r.commitErrors} / ${r.commitsDeferred} | ${
          r.crashed ? "yes" : "no"
        } / ${r.restarts} | ${r.caughtUp ? "yes" : "**no**"} | ${r.resumeExact ? "yes" : "**no**"} |`,
      );
    }
  }
  return out.join("\n");
}

/** Expands `--scenarios`: names or prefixes of names (`producer`, `consumer/kafkajs`), comma-separated. */
export function selectScenarios(spec: string): string[] {
  const wanted = spec.split(",").map((s) => s.trim()).filter(Boolean);
  if (wanted.length === 0) throw new UsageError("--scenarios is empty");
  const out: string[] = [];
  for (const w of wanted) {
    const hits = w === "all" ? [...SCENARIOS] : SCENARIOS.filter((s) => s === w || s.startsWith(`${w}/`));
    if (hits.length === 0) {
      throw new UsageError(`Unknown scenario "${w}"; one of all, producer, consumer, ${SCENARIOS.join(", ")}`);
    }
    for (const h of hits) if (!out.includes(h)) out.push(h);
  }
  return out;
}

const FLAGS = {
  scenarios: { type: "string", default: "all", help: "Comma-separated scenario names or prefixes" },
  rate: { type: "number", default: 2000, min: 100, max: 20_000, integer: true, help: "Records per second" },
  seconds: { type: "number", default: 20, min: 10, max: 120, help: "Seconds of producing per run" },
  "fault-after": {
    type: "number",
    default: 5,
    min: 1,
    max: 60,
    help: "Seconds from the first ack/record to the fault",
  },
  "restart-after": { type: "number", default: 10, min: 1, max: 60, help: "Seconds from the fault to the restart" },
  bound: {
    type: "number",
    default: 60,
    min: 10,
    max: 300,
    help: "Seconds a client may take to settle after the last record",
  },
  sensors: { type: "number", default: 90, min: 3, max: 10_000, integer: true, help: "Simulated sensors" },
  write: { type: "boolean", default: true, help: "Write bench/results/failover_clients.{json,md}" },
} as const;

if (import.meta.main) {
  runMain(async () => {
    const flags = parseFlags(Deno.args, FLAGS);
    if (flags.help) {
      console.log(usage(
        "deno run -A bench/failover_clients.ts",
        `Failover matrix of Kafka clients on a local 3-node cluster. Scenarios:\n  ${SCENARIOS.join("\n  ")}`,
        FLAGS,
      ));
      return 0;
    }
    const scenarios = selectScenarios(flags.scenarios);
    if (flags["restart-after"] + flags["fault-after"] >= flags.seconds) {
      throw new UsageError(
        `--fault-after + --restart-after (${
          flags["fault-after"] + flags["restart-after"]
        } s) must be below --seconds (${flags.seconds})`,
      );
    }
    const log = (l: string) => console.error(l);
    const o: MatrixOptions = {
      rate: flags.rate,
      seconds: flags.seconds,
      faultAfterMs: flags["fault-after"] * 1000,
      restartAfterMs: flags["restart-after"] * 1000,
      boundMs: flags.bound * 1000,
      sensors: flags.sensors,
      log,
    };
    const cluster = new LocalKafkaCluster({ nodes: 3, heap: "512m" });
    log(`failover_clients: starting a 3-node cluster on ${cluster.brokers} (${cluster.dataDir}) ...`);
    await cluster.start();
    const results: RunResult[] = [];
    let failures = 0;
    try {
      for (const [i, name] of scenarios.entries()) {
        const [kind, client, fault] = name.split("/");
        log(`failover_clients: ${name} ...`);
        const seed = 1400 + i;
        try {
          const r = kind === "producer"
            ? await producerRun(cluster, client as ProducerClient, fault as ProducerFault, o, seed)
            : await consumerRun(cluster, client as ConsumerClient, fault as ConsumerFault, o, seed);
          results.push(r);
          console.log(JSON.stringify({ failover_clients: name, ...r }));
        } catch (e) {
          failures++;
          log(`failover_clients: ${name} could not run: ${(e as Error).stack ?? e}`);
          console.log(JSON.stringify({ failover_clients: name, error: String((e as Error).message ?? e) }));
        }
        // Every node back and in sync before the next run.
        for (let n = 0; n < cluster.size; n++) {
          if (!cluster.node(n).running) await cluster.restart(n).catch(() => {});
        }
      }
    } finally {
      await cluster.dispose(30_000).catch(() => {});
    }
    const table = markdownTable(results);
    log(`\n${table}\n`);
    if (flags.write) {
      const dir = new URL("./results/", import.meta.url);
      await Deno.mkdir(dir, { recursive: true });
      const stamp = new Date().toISOString();
      await Deno.writeTextFile(
        new URL("failover_clients.json", dir),
        JSON.stringify({ at: stamp, o, results }, null, 2),
      );
      await Deno.writeTextFile(new URL("failover_clients.md", dir), `Failover matrix, ${stamp}\n\n${table}\n`);
      log("failover_clients: wrote bench/results/failover_clients.json and .md");
    }
    return failures ? 1 : 0;
  });
}
