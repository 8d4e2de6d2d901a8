/**
 * `benchPipeline`: how many readings per second the stream processor drains
 * end to end (decode, validate, raw insert, windows, detectors, alerts,
 * commit), next to a bare consumer baseline (`consumeOnly`: decode and
 * validate only) on the same backlog.
 *
 * Method: a backlog of readings (1000 sensors, event times spread at the
 * target rate) is produced once; each run starts a processor in a fresh
 * consumer group on a fresh database and measures from the first consumed
 * record until the group has every offset committed (as the broker has them, not
 * as the instances count them). A run drains faster than the rate
 * it could sustain only if its lag stays bounded, so the drain rate is the
 * sustainable rate. Runs are capped well below 60 s.
 *
 * Standalone: `deno run -A bench/pipeline.ts [--messages N] [--runs N]`.
 */
import {
  createKafka,
  createLogger,
  ensureTopics,
  parseFlags,
  runMain,
  SENSOR_RANGES,
  sensorId,
  sensorProfile,
  type SensorReading,
} from "@iot/shared";
import { MongoClient } from "mongodb";
import { LocalKafka } from "../dev/kafka.ts";
import { LocalMongo } from "../dev/mongo.ts";
import { startProcessor } from "../processor/mod.ts";
import { type BenchResult, result } from "./result.ts";

/** Options of `benchPipeline`. */
export interface BenchPipelineOptions {
  /** Readings in the backlog (default 300 000). */
  messages?: number;
  /** Measured runs of each mode (default 2). */
  runs?: number;
  /** Existing broker (default: a local one started for the benchmark). */
  brokers?: string[];
  /** Existing MongoDB (default: the local stand-in). */
  mongoUrl?: string;
  partitions?: number;
  sensors?: number;
  /** Flush interval of windows and commits (default: the processor's). */
  flushIntervalMs?: number;
  /** Raw insert calls in flight (default: the processor's). */
  writeConcurrency?: number;
  /** Give up a run after this long (default 55 s). */
  runTimeoutMs?: number;
  /** Processor instances in the consumer group (default 1). */
  instances?: number;
  /** Skip the consume-only baseline and the bare-insert ceiling (default false). */
  fullOnly?: boolean;
  /**
   * A backlog of records the contract refuses, of mixed kinds (bad JSON, bad
   * UTF-8, missing fields, out of range, an unusable type name), so every one
   * is dead-lettered: the "poison drain" (default false; implies `fullOnly`).
   */
  poison?: boolean;
  log?: (line: string) => void;
}

const TARGET = 35_000;

/** The i-th record of a poison backlog, made from a valid reading's JSON: five kinds in turn. */
export function poisonRecord(i: number, valid: string): Uint8Array {
  const enc = new TextEncoder();
  switch (i % 5) {
    case 0:
      return enc.encode(valid.slice(0, Math.floor(valid.length / 2)));
    case 1: {
      const b = enc.encode(valid);
      const out = new Uint8Array(b.length + 2);
      out.set(b.subarray(0, 10));
      out.set([0xc3, 0x28], 10);
      out.set(b.subarray(10), 12);
      return out;
    }
    case 2:
      return enc.encode(valid.replace(/"value":[^,]+,/, ""));
    case 3:
      return enc.encode(valid.replace(/"value":[^,]+/, '"value":1e9'));
    default:
      return enc.encode(valid.replace(/"sensor_type":"[^"]+"/, '"sensor_type":"$unusable"'));
  }
}

function backlog(count: number, sensors: number, rate: number, poison = false): Uint8Array[] {
  const enc = new TextEncoder();
  const start = Date.now() - Math.ceil(count / rate) * 1000;
  const profiles = Array.from({ length: sensors }, (_, i) => sensorProfile(sensorId(i + 1)));
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const p = profiles[i % sensors];
    const r = SENSOR_RANGES[p.sensorType];
    const mid = (r.normalMin + r.normalMax) / 2;
    const reading: SensorReading = {
      sensor_id: p.sensorId,
      sensor_type: p.sensorType,
      value: Math.round((mid + Math.sin(i / sensors) * (r.normalMax - r.normalMin) * 0.3) * 100) / 100,
      location: p.location,
      timestamp: new Date(start + Math.floor((i * 1000) / rate)).toISOString(),
      status: "normal",
      seq: Math.floor(i / sensors),
      metadata: { unit: p.unit, sensor_model: p.model, battery_level: 80 },
    };
    const json = JSON.stringify(reading);
    out.push(poison ? poisonRecord(i, json) : enc.encode(json));
  }
  return out;
}

/** Measures the processor's drain rate against the consume-only baseline. */
export async function benchPipeline(options: BenchPipelineOptions = {}): Promise<BenchResult[]> {
  const log = options.log ?? ((l: string) => console.error(l));
  const messages = options.messages ?? 300_000;
  const runs = options.runs ?? 2;
  const partitions = options.partitions ?? 3;
  const sensors = options.sensors ?? 1000;
  const logger = createLogger({ name: "bench", level: "warn" });
  let kafkaLocal: LocalKafka | undefined;
  let mongoLocal: LocalMongo | undefined;
  try {
    let brokers = options.brokers;
    if (!brokers) {
      kafkaLocal = new LocalKafka({ heap: "1g" });
      await kafkaLocal.start();
      brokers = [kafkaLocal.brokers];
    }
    const kafka = await createKafka({ brokers, clientId: "bench" }, { role: "bench", logger });
    const topic = `bench-pipeline-${Date.now().toString(36)}`;
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: partitions }]);
    const poison = options.poison ?? false;
    const fullOnly = (options.fullOnly ?? false) || poison;
    const values = backlog(messages, sensors, TARGET, poison);
    const producer = kafka.producer();
    await producer.connect();
    const t0 = performance.now();
    const step = 5000;
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < values.length; i += step) {
      sends.push(producer.send({
        topic,
        acks: 1,
        messages: values.slice(i, i + step).map((v, j) => ({
          key: sensorId(((i + j) % sensors) + 1),
          value: Buffer.from(v),
        })),
      }));
      if (sends.length >= 4) await sends.shift();
    }
    await Promise.all(sends);
    await producer.disconnect();
    log(`bench pipeline: produced ${messages} readings in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const measure = async (consumeOnly: boolean, run: number): Promise<number> => {
      let mongoUrl = options.mongoUrl;
      if (!consumeOnly && !mongoUrl) {
        mongoLocal = new LocalMongo({ engine: "java", heap: "3g" });
        await mongoLocal.start();
        mongoUrl = mongoLocal.url;
      }
      const instances = consumeOnly ? 1 : (options.instances ?? 1);
      const groupId = `${topic}-${consumeOnly ? "base" : "full"}-${run}`;
      const handles = await Promise.all(Array.from({ length: instances }, (_, k) =>
        startProcessor({
          kafka: { brokers: brokers!, clientId: "bench" },
          mongo: { url: mongoUrl ?? "mongodb://127.0.0.1:1", db: `bench_${topic}_${run}` },
          topics: { readings: topic, deadLetters: `${topic}.dlq`, alerts: `${topic}-alerts` },
          partitions,
          groupId,
          instance: `bench-${run}-${k}`,
          metricsPort: 0,
          consumeOnly,
          rawRetentionDays: 36500,
          writeConcurrency: options.writeConcurrency,
          flushIntervalMs: options.flushIntervalMs,
          logger,
        })));
      // The group's committed offsets as the broker has them. Not the instances' own counters: a
      // partition that moves to an instance after it was drained is never committed by its new owner.
      const committedTotal = async () => {
        const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return (t?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
      };
      try {
        await Promise.all(handles.map((h) => h.ready));
        const deadline = Date.now() + (options.runTimeoutMs ?? 55_000);
        let first = 0;
        let committed = 0;
        let polled = 0;
        while (Date.now() < deadline) {
          if (!first && handles.some((h) => h.stats().consumed > 0)) first = performance.now();
          if (first && performance.now() - polled >= 100) {
            polled = performance.now();
            committed = await committedTotal();
            if (committed >= messages) break;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        committed = await committedTotal();
        const secs = (performance.now() - first) / 1000;
        const rate = committed / secs;
        const s = handles[0].stats();
        log(
          `bench pipeline: ${
            consumeOnly ? "consume-only" : "full"
          } run ${run} (${instances} instance(s), ${partitions} partitions): ${committed}/${messages} committed in ${
            secs.toFixed(1)
          } s = ${
            Math.round(rate)
          } msg/s (instance 1: stored ${s.stored}, windows written ${s.windowsWritten}, alerts ${s.alertsNew}) stages ${
            JSON.stringify(s.stageSeconds)
          }`,
        );
        return rate;
      } finally {
        await Promise.all(handles.map((h) => h.stop()));
        await mongoLocal?.dispose();
        mongoLocal = undefined;
      }
    };

    // The MongoDB backend's bare insert rate for the same documents (no Kafka, no processing):
    // the ceiling of the raw-reading path, reported so the processor's rate can be read against it.
    const ceiling = async (): Promise<number> => {
      let url = options.mongoUrl;
      if (!url) {
        mongoLocal = new LocalMongo({ engine: "java", heap: "3g" });
        await mongoLocal.start();
        url = mongoLocal.url;
      }
      const client = new MongoClient(url);
      try {
        await client.connect();
        const col = client.db(`bench_ceiling_${Date.now().toString(36)}`).collection("sensor_metrics");
        const dec = new TextDecoder();
        const n = Math.min(messages, 100_000);
        const docs = values.slice(0, n).map((v) => {
          const r = JSON.parse(dec.decode(v)) as SensorReading;
          return {
            _id: `${r.sensor_id}:${r.seq}`,
            ...r,
            timestamp: new Date(r.timestamp),
            ingested_at: new Date(),
          } as unknown as Record<string, unknown>;
        });
        const t = performance.now();
        const inflight: Promise<unknown>[] = [];
        for (let i = 0; i < docs.length; i += 1000) {
          inflight.push(col.insertMany(docs.slice(i, i + 1000), { ordered: false }));
          if (inflight.length >= 4) await inflight.shift();
        }
        await Promise.all(inflight);
        const rate = n / ((performance.now() - t) / 1000);
        log(`bench pipeline: bare insertMany into MongoDB: ${Math.round(rate)} docs/s`);
        return rate;
      } finally {
        await client.close();
        await mongoLocal?.dispose();
        mongoLocal = undefined;
      }
    };

    const base: number[] = [];
    const full: number[] = [];
    if (!fullOnly) { for (let i = 0; i < runs; i++) base.push(await measure(true, i)); }
    for (let i = 0; i < runs; i++) full.push(await measure(false, i));
    const insertCeiling = fullOnly ? NaN : await ceiling();
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`, `${topic}-alerts`] }).catch(() => {});
    await admin.disconnect();
    const backend = options.mongoUrl ? "MongoDB at the given URL" : "mongo-java-server stand-in (in-memory, oplog)";
    const r = await result({
      name: options.instances && options.instances > 1 || partitions !== 3
        ? `pipeline.drain_rate (${options.instances ?? 1} instances, ${partitions} partitions)`
        : "pipeline.drain_rate",
      unit: "msg/s",
      baseline: "bare consumer (consume-only: decode + validate)",
      runs: full.map((v) => Math.round(v)),
      baseline_runs: base.map((v) => Math.round(v)),
      notes: `${messages} readings backlog, ${sensors} sensors, ${partitions} partitions, windows 10 s + 60 s, ${
        options.instances ?? 1
      } instance(s); MongoDB: ${backend}`,
      target: `≥ ${TARGET} msg/s`,
    });
    r.met = r.value >= TARGET;
    if (poison) {
      r.name = "pipeline.poison_drain_rate";
      r.notes = `${messages} refused records (five kinds in turn), every one dead-lettered; ${r.notes}`;
      r.target = undefined;
      r.met = undefined;
    }
    if (!fullOnly) {
      r.notes += `; bare insertMany rate of this backend: ${Math.round(insertCeiling)} docs/s (processor reaches ${
        Math.round((r.value / insertCeiling) * 100)
      }% of it)`;
    }
    return [r];
  } finally {
    await mongoLocal?.dispose();
    await kafkaLocal?.dispose();
  }
}

if (import.meta.main) {
  runMain(async () => {
    const flags = parseFlags(Deno.args, {
      messages: { type: "number", default: 300_000, min: 1000, integer: true, help: "Backlog size" },
      runs: { type: "number", default: 2, min: 1, max: 10, integer: true, help: "Runs of each mode" },
      concurrency: { type: "number", min: 1, max: 16, integer: true, help: "Raw insert calls in flight" },
      "flush-ms": { type: "number", min: 50, max: 60_000, integer: true, help: "Flush interval" },
      instances: { type: "number", default: 1, min: 1, max: 8, integer: true, help: "Processor instances" },
      partitions: { type: "number", default: 3, min: 1, max: 64, integer: true, help: "Partitions" },
    });
    const results = await benchPipeline({
      messages: flags.messages,
      runs: flags.runs,
      writeConcurrency: flags.concurrency,
      flushIntervalMs: flags["flush-ms"],
      instances: flags.instances,
      partitions: flags.partitions,
    });
    for (const r of results) console.log(JSON.stringify(r));
  });
}
