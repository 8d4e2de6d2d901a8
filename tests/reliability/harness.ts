/**
 * Harness of the reliability suite: per-scenario names, the processor as a
 * subprocess (so it can be SIGKILLed / SIGTERMed), waiting for the consumer
 * group to catch up, reading a topic back, and the one-line JSON summary each
 * scenario prints for `docs/reliability.md`.
 */
import type { Admin, Kafka } from "kafkajs";
import type { Db } from "mongodb";
import { type ProducerHandle, type ProducerResult, startProducer } from "@iot/producer";
import { COLLECTIONS, createKafka, createLogger, ensureTopics, type Logger } from "@iot/shared";
import { freePort, ManagedProcess } from "../../dev/process.ts";
import { type TestMongo, uniqueName, useMongo, waitFor } from "../../dev/testing.ts";

/** Test options of every reliability test (subprocesses and clients outlive single ops). */
export const TEST_OPTIONS = { sanitizeOps: false, sanitizeResources: false } as const;

/** Quiet logger for the test's own Kafka clients. */
export const testLogger: Logger = createLogger({ name: "reliability", level: "error", format: "json" });

const ROOT = new URL("../../", import.meta.url).pathname;

/** Fresh topics, group and database of one scenario. */
export interface ScenarioNames {
  readings: string;
  deadLetters: string;
  alerts: string;
  group: string;
  db: string;
}

/** Fresh names for one scenario (nothing shared with other scenarios or runs). */
export function scenarioNames(prefix: string): ScenarioNames {
  const base = uniqueName(`rel-${prefix}`);
  return {
    readings: `${base}-data`,
    deadLetters: `${base}-data.dlq`,
    alerts: `${base}-alerts`,
    group: `${base}-group`,
    db: base.replace(/-/g, "_"),
  };
}

/** Creates a Kafka client for the test itself. */
export function testKafka(brokers: string[]): Promise<Kafka> {
  return createKafka({ brokers, clientId: "reliability" }, { role: "test", logger: testLogger });
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Options of `ProcessorProcess.start`. */
export interface ProcessorProcessOptions {
  brokers: string[];
  mongoUrl: string;
  names: ScenarioNames;
  /** Instance name (default: a unique one). */
  instance?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Print the processor's output lines (debugging). */
  echo?: boolean;
}

/** Totals a processor logs in its "Processor stopped" line. */
export interface StoppedTotals {
  consumed: number;
  stored: number;
  invalid: number;
  late: number;
  dead_letters: number;
  mongo_retries: number;
  [key: string]: number;
}

/** `processor/main.ts` running as a child process with its metrics port on a free port. */
export class ProcessorProcess {
  private constructor(readonly proc: ManagedProcess, readonly port: number, readonly instance: string) {}

  /** Spawns the processor CLI with the scenario's environment. Does not wait for readiness. */
  static async start(o: ProcessorProcessOptions): Promise<ProcessorProcess> {
    const port = freePort();
    const instance = o.instance ?? uniqueName("proc");
    const env: Record<string, string> = {
      KAFKA_BROKERS: o.brokers.join(","),
      MONGO_URL: o.mongoUrl,
      MONGO_DB: o.names.db,
      KAFKA_TOPIC: o.names.readings,
      KAFKA_DLQ_TOPIC: o.names.deadLetters,
      KAFKA_ALERTS_TOPIC: o.names.alerts,
      KAFKA_PARTITIONS: "3",
      PROCESSOR_GROUP: o.names.group,
      PROCESSOR_METRICS_PORT: String(port),
      LOG_FORMAT: "json",
      LOG_LEVEL: "info",
      ...o.env,
    };
    const proc = await ManagedProcess.spawn({
      name: `processor-${instance}`,
      cmd: Deno.execPath(),
      args: ["run", "-A", "processor/main.ts", "--instance", instance],
      cwd: ROOT,
      env,
      onLine: o.echo ? (line) => console.error(`[${instance}] ${line}`) : undefined,
    });
    return new ProcessorProcess(proc, port, instance);
  }

  /** GET /healthz: HTTP status and body, or undefined when the server does not answer. */
  async health(): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.port}/healthz`, { signal: AbortSignal.timeout(2000) });
      return { status: res.status, body: await res.json() };
    } catch {
      return undefined;
    }
  }

  /** Waits until /healthz says ok (consuming with partitions, MongoDB healthy). */
  async waitHealthy(timeoutMs = 60_000): Promise<void> {
    await waitFor(async () => {
      if (this.proc.exited) throw new Error(`Processor ${this.instance} exited early:\n${this.proc.tail(30)}`);
      const h = await this.health();
      return h?.status === 200;
    }, { timeoutMs, intervalMs: 250, what: `processor ${this.instance} /healthz ok` });
  }

  /** Sum of a counter or gauge from /metrics (all label sets), or undefined when unreachable. */
  async metric(name: string): Promise<number | undefined> {
    let text: string;
    try {
      const res = await fetch(`http://127.0.0.1:${this.port}/metrics`, { signal: AbortSignal.timeout(2000) });
      text = await res.text();
    } catch {
      return undefined;
    }
    let sum = 0;
    for (const line of text.split("\n")) {
      if (line.startsWith("#")) continue;
      const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (m && m[1] === name) sum += Number(m[3]);
    }
    return sum;
  }

  /** SIGKILL; resolves when it is gone. */
  async kill(): Promise<Deno.CommandStatus> {
    return await this.proc.kill();
  }

  /** SIGTERM and wait for the exit (SIGKILL after `graceMs`). */
  async terminate(graceMs = 40_000): Promise<Deno.CommandStatus> {
    return await this.proc.stop(graceMs);
  }

  /** The totals of the "Processor stopped" log line, once it was printed. */
  stoppedTotals(): StoppedTotals | undefined {
    for (const line of this.proc.tail(200).split("\n").reverse()) {
      if (!line.includes("Processor stopped")) continue;
      try {
        return JSON.parse(line) as StoppedTotals;
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  /** Count of log lines matching `re` among the last 200. */
  logLines(re: RegExp): string[] {
    return this.proc.tail(200).split("\n").filter((l) => re.test(l));
  }
}

/** Stops processes in `finally`: kills whatever still runs, ignoring errors. */
export async function killAll(procs: (ProcessorProcess | undefined)[]): Promise<void> {
  await Promise.allSettled(procs.map((p) => p && !p.proc.exited ? p.kill() : Promise.resolve()));
}

/** Consumer-group lag of a topic: high watermarks minus committed offsets (a missing commit counts from low). */
export async function groupLag(admin: Admin, group: string, topic: string): Promise<number> {
  const [high, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId: group, topics: [topic] }),
  ]);
  const byPartition = new Map<number, number>();
  for (const t of committed) {
    for (const p of t.partitions) byPartition.set(p.partition, Number(p.offset));
  }
  let lag = 0;
  for (const p of high) {
    const c = byPartition.get(p.partition) ?? -1;
    lag += Number(p.high) - (c < 0 ? Number(p.low) : c);
  }
  return lag;
}

/** Sum of committed offsets of a group on a topic (0 for uncommitted partitions). */
export async function committedTotal(admin: Admin, group: string, topic: string): Promise<number> {
  const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  let sum = 0;
  for (const t of committed) for (const p of t.partitions) sum += Math.max(0, Number(p.offset));
  return sum;
}

/** Records in a topic (sum of high minus low watermarks). */
export async function topicSize(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
}

/** Waits until the group committed everything in the topic (lag 0) and `extra` (if given) holds. */
export async function waitCaughtUp(
  admin: Admin,
  o: { group: string; topic: string; timeoutMs?: number; extra?: () => Promise<boolean> },
): Promise<void> {
  let last = "not measured";
  try {
    await waitFor(async () => {
      let lag: number;
      try {
        lag = await groupLag(admin, o.group, o.topic);
      } catch (e) {
        last = `lag unknown: ${(e as Error).message}`;
        return false;
      }
      last = `lag ${lag}`;
      if (lag !== 0) return false;
      const ok = o.extra ? await o.extra() : true;
      if (!ok) last = "lag 0, extra condition not met";
      return ok;
    }, { timeoutMs: o.timeoutMs ?? 90_000, intervalMs: 300 });
  } catch {
    throw new Error(`Timed out waiting for group ${o.group} to catch up (${last})`);
  }
}

/** One record read back from a topic. */
export interface TopicRecord {
  key: string | null;
  value: Uint8Array | null;
  headers: Record<string, string>;
  partition: number;
  offset: string;
  /** Record timestamp in epoch ms (the broker's append time on a `LogAppendTime` topic). */
  timestamp: number;
}

/** Reads every record of a topic up to its current end offsets (empty topic: at once). */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<TopicRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  let expected: number;
  try {
    expected = await topicSize(admin, topic);
  } finally {
    await admin.disconnect().catch(() => {});
  }
  const out: TopicRecord[] = [];
  if (expected === 0) return out;
  const consumer = kafka.consumer({ groupId: uniqueName("rel-read"), maxBytes: 20 * 1024 * 1024 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        for (const m of batch.messages) {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = v === undefined ? "" : String(v);
          out.push({
            key: m.key === null ? null : m.key.toString(),
            value: m.value === null ? null : new Uint8Array(m.value),
            headers,
            partition: batch.partition,
            offset: m.offset,
            timestamp: Number(m.timestamp),
          });
        }
        return Promise.resolve();
      },
    });
    await waitFor(() => out.length >= expected, { timeoutMs, what: `${expected} records of ${topic}` });
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  return out;
}

/** Prints the one-line JSON summary of a scenario (copied into docs/reliability.md). */
export function summary(scenario: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ reliability: scenario, ...fields }));
}

/** The pieces of one scenario: names, the broker, a MongoDB-protocol server, test clients, processors. */
export interface Scenario {
  names: ScenarioNames;
  brokers: string[];
  mongo: TestMongo;
  db: Db;
  kafka: Kafka;
  admin: Admin;
  /** Processors started through `startProcessor` (killed by `close`). */
  processors: ProcessorProcess[];
  /** Starts a processor subprocess for this scenario (MongoDB at `mongoUrl`, default the server's). */
  startProcessor(o?: { mongoUrl?: string; env?: Record<string, string>; echo?: boolean }): Promise<ProcessorProcess>;
  /** Documents in `sensor_metrics`, or -1 when MongoDB does not answer. */
  storedCount(): Promise<number>;
  /** Adds the processors' last warnings and errors to a failure (call from `catch`). */
  annotate(e: unknown): unknown;
  /** Kills processors still running and closes clients and the MongoDB server. */
  close(): Promise<void>;
}

/** The last warning and error lines of the processors (deduplicated by message), for failure messages. */
function processorTrouble(processors: ProcessorProcess[], max = 8): string {
  const out: string[] = [];
  for (const p of processors) {
    const seen = new Set<string>();
    const lines = p.logLines(/"level":"(warn|error)"/).filter((l) => {
      const msg = /"msg":"([^"]*)"/.exec(l)?.[1] ?? l;
      if (seen.has(msg)) return false;
      seen.add(msg);
      return true;
    });
    if (lines.length) out.push(`processor ${p.instance}:`, ...lines.slice(-max).map((l) => `  ${l.slice(0, 500)}`));
  }
  return out.join("\n");
}

/** Opens a scenario: fresh names, a fresh MongoDB-protocol server, the readings topic (3 partitions by default). */
export async function openScenario(
  prefix: string,
  brokers: string[],
  o: { partitions?: number } = {},
): Promise<Scenario> {
  const names = scenarioNames(prefix);
  const mongo = await useMongo();
  const kafka = await testKafka(brokers);
  const admin = kafka.admin();
  const processors: ProcessorProcess[] = [];
  const s: Scenario = {
    names,
    brokers,
    mongo,
    db: mongo.client.db(names.db),
    kafka,
    admin,
    processors,
    async startProcessor(o = {}) {
      const p = await ProcessorProcess.start({
        brokers,
        mongoUrl: o.mongoUrl ?? mongo.url,
        names,
        env: o.env,
        echo: o.echo ?? Deno.env.get("RELIABILITY_ECHO") === "1",
      });
      processors.push(p);
      return p;
    },
    async storedCount() {
      try {
        return await s.db.collection(COLLECTIONS.readings).countDocuments({}, { maxTimeMS: 5000 });
      } catch {
        return -1;
      }
    },
    annotate(e: unknown) {
      const trouble = processorTrouble(processors);
      if (trouble && e instanceof Error) e.message += `\nProcessor warnings and errors:\n${trouble}`;
      return e;
    },
    async close() {
      await killAll(processors);
      await admin.disconnect().catch(() => {});
      await mongo.close().catch(() => {});
    },
  };
  try {
    await admin.connect();
    await ensureTopics(admin, [{ topic: names.readings, numPartitions: o.partitions ?? 3 }]);
  } catch (e) {
    await s.close();
    throw e;
  }
  return s;
}

/** Options of `produceKnownSet`. */
export interface KnownSetOptions {
  brokers: string[];
  topic: string;
  count: number;
  rate: number;
  sensors: number;
  seed: number;
  /** Anomaly spike probability (default the producer's). */
  anomalyRate?: number;
  /** How long the producer waits, once its count is sent, for the last acknowledgements (default the producer's). */
  flushTimeoutMs?: number;
  signal?: AbortSignal;
}

/** A producer run of a known, seeded set; `done` is observed at once so that a failure is reported where awaited. */
export interface KnownSet {
  handle: ProducerHandle;
  done: Promise<ProducerResult>;
  /** Throws the producer's error if it has failed (call inside wait loops). */
  check(): void;
  /** The producer's warning and error log lines (JSON), as it reported trouble. */
  warnings: string[];
}

/** Starts the producer library on a known, seeded set of readings (every sensor's seq dense from 0). */
export function produceKnownSet(o: KnownSetOptions): KnownSet {
  const warnings: string[] = [];
  const handle = startProducer({
    brokers: o.brokers,
    topic: o.topic,
    partitions: 3,
    rate: o.rate,
    count: o.count,
    sensors: o.sensors,
    seed: o.seed,
    anomalyRate: o.anomalyRate,
    flushTimeoutMs: o.flushTimeoutMs,
    statsIntervalS: 0,
    logger: createLogger({ name: "producer", level: "warn", format: "json", write: (l) => warnings.push(l) }),
    signal: o.signal,
  });
  const done = handle.done;
  let failure: unknown;
  done.catch((e) => (failure = e ?? new Error("Producer failed")));
  return {
    handle,
    done,
    warnings,
    check() {
      if (failure !== undefined) throw new Error(`The producer failed: ${(failure as Error)?.message ?? failure}`);
    },
  };
}

/** Per-sensor order of a readings topic as stored by Kafka. */
export interface TopicOrder {
  records: number;
  /** Readings whose `seq` is not above the previous reading of the same sensor (by offset), as examples. */
  outOfOrder: string[];
  outOfOrderCount: number;
  /** Largest event-time step backwards between consecutive readings of one partition, in ms. */
  maxBackwardsMs: number;
}

/** Reads a readings topic and checks that every sensor's readings are in `seq` order within the log. */
export async function topicOrder(kafka: Kafka, topic: string): Promise<TopicOrder> {
  const records = await readTopic(kafka, topic);
  const byPartition = new Map<number, TopicRecord[]>();
  for (const r of records) {
    const list = byPartition.get(r.partition) ?? [];
    list.push(r);
    byPartition.set(r.partition, list);
  }
  const outOfOrder: string[] = [];
  let count = 0;
  let maxBackwardsMs = 0;
  const dec = new TextDecoder();
  for (const [partition, list] of byPartition) {
    list.sort((a, b) => Number(BigInt(a.offset) - BigInt(b.offset)));
    const lastSeq = new Map<string, number>();
    let maxEvent = -Infinity;
    for (const r of list) {
      let v: { sensor_id?: string; seq?: number; timestamp?: string };
      try {
        v = JSON.parse(dec.decode(r.value ?? new Uint8Array()));
      } catch {
        continue;
      }
      if (typeof v.sensor_id !== "string" || typeof v.seq !== "number") continue;
      const prev = lastSeq.get(v.sensor_id);
      if (prev !== undefined && v.seq <= prev) {
        count++;
        if (outOfOrder.length < 5) {
          outOfOrder.push(`${v.sensor_id}:${v.seq} after :${prev} (p${partition}@${r.offset})`);
        }
      }
      lastSeq.set(v.sensor_id, Math.max(prev ?? -1, v.seq));
      const t = Date.parse(v.timestamp ?? "");
      if (Number.isFinite(t)) {
        if (t < maxEvent) maxBackwardsMs = Math.max(maxBackwardsMs, maxEvent - t);
        maxEvent = Math.max(maxEvent, t);
      }
    }
  }
  return { records: records.length, outOfOrder, outOfOrderCount: count, maxBackwardsMs };
}
