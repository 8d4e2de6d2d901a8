/**
 * Test fixtures: processor options and topics for a test, readings built from
 * the shared types, a producer helper and document snapshots.
 */
import type { Db } from "mongodb";
import type { Kafka } from "kafkajs";
import { type Logger, SENSOR_RANGES, sensorProfile, type SensorReading } from "@iot/shared";
import type { StartProcessorOptions } from "../../processor/mod.ts";
import { uniqueName } from "../../dev/testing.ts";

/** Topics of one test's processor (unique names). */
export interface TestTopics {
  readings: string;
  deadLetters: string;
  alerts: string;
}

/** Unique readings, dead-letter and alert topic names. */
export function testTopics(): TestTopics {
  const base = uniqueName("proc");
  return { readings: `${base}-data`, deadLetters: `${base}-data.dlq`, alerts: `${base}-alerts` };
}

/**
 * Processor options for a test: short flush and heartbeat intervals, 10 s and
 * 60 s windows, a metrics port, its own group and instance.
 */
export function testProcessorOptions(o: {
  brokers: string[];
  url: string;
  db: string;
  topics: TestTopics;
  logger: Logger;
}): StartProcessorOptions {
  return {
    kafka: { brokers: o.brokers, clientId: "test" },
    mongo: { url: o.url, db: o.db },
    topics: o.topics,
    partitions: 3,
    groupId: uniqueName("group"),
    instance: uniqueName("inst"),
    metricsPort: 0,
    windowsS: [10, 60],
    allowedLatenessMs: 10_000,
    idleMs: 5000,
    rawRetentionDays: 36500, // the test data is dated 2026-01-01
    flushIntervalMs: 200,
    heartbeatMs: 500,
    detectors: { silenceSeconds: 3600 },
    logger: o.logger,
  };
}

/** Epoch ms of a fixed, minute-aligned event time used by the tests. */
export const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

/** A valid reading of `sensor` number `seq` at `t`, with a value inside the normal band unless given. */
export function reading(sensor: string, seq: number, t: number, value?: number): SensorReading {
  const p = sensorProfile(sensor);
  const r = SENSOR_RANGES[p.sensorType];
  const mid = (r.normalMin + r.normalMax) / 2;
  const width = r.normalMax - r.normalMin;
  return {
    sensor_id: sensor,
    sensor_type: p.sensorType,
    value: value ?? Math.round((mid + Math.sin(seq + p.index) * width * 0.1) * 1000) / 1000,
    location: p.location,
    timestamp: new Date(t).toISOString(),
    status: "normal",
    seq,
    metadata: { unit: p.unit, sensor_model: p.model, battery_level: 90 },
  };
}

/** Sends readings (keyed by sensor id) or raw values to a topic, in order. */
export async function send(
  kafka: Kafka,
  topic: string,
  items: (SensorReading | { key: string; value: string | Uint8Array })[],
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let i = 0; i < items.length; i += 500) {
      await producer.send({
        topic,
        acks: -1,
        messages: items.slice(i, i + 500).map((it) =>
          "sensor_id" in it
            ? { key: it.sensor_id, value: JSON.stringify(it) }
            : { key: it.key, value: typeof it.value === "string" ? it.value : Buffer.from(it.value) }
        ),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Expected window counts per window `_id` (both kinds, every size) of the given readings. */
export function expectedWindows(
  readings: SensorReading[],
  sizesS: number[],
): Map<string, { count: number; sum: number; min: number; max: number }> {
  const out = new Map<string, { count: number; sum: number; min: number; max: number }>();
  for (const r of readings) {
    const t = Date.parse(r.timestamp);
    for (const s of sizesS) {
      const start = Math.floor(t / (s * 1000)) * s * 1000;
      for (
        const id of [
          `type_location|${r.sensor_type}/${r.location}|${start}|${s}`,
          `sensor|${r.sensor_id}|${start}|${s}`,
        ]
      ) {
        const w = out.get(id) ?? { count: 0, sum: 0, min: Infinity, max: -Infinity };
        w.count++;
        w.sum += r.value;
        w.min = Math.min(w.min, r.value);
        w.max = Math.max(w.max, r.value);
        out.set(id, w);
      }
    }
  }
  return out;
}

/** Every document of the given collections, sorted by `_id`, as JSON text. */
export async function snapshot(db: Db, names: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const docs = await db.collection(n).find({}).sort({ _id: 1 }).toArray();
    out[n] = JSON.stringify(docs);
  }
  return out;
}

/** Reads `count` messages of a topic from the beginning (own group), with headers as strings. */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  count: number,
  timeoutMs = 30_000,
): Promise<{ key: string | null; value: Buffer | null; headers: Record<string, string> }[]> {
  const consumer = kafka.consumer({ groupId: `reader-${crypto.randomUUID()}` });
  const seen: { key: string | null; value: Buffer | null; headers: Record<string, string> }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        seen.push({ key: message.key?.toString() ?? null, value: message.value, headers });
        return Promise.resolve();
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (seen.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await consumer.disconnect();
  }
  return seen;
}
