/**
 * Helpers of the cluster suite: one 3-node cluster per test file, topics whose
 * record timestamps are the broker's append time (so that stalls can be read
 * from the log itself), and the per-sensor check of a readings topic against
 * what the producer acknowledged, with the stall and recovery figures.
 */
import type { Kafka } from "kafkajs";
import { decodeReading, ensureTopics } from "@iot/shared";
import { LocalKafkaCluster } from "../../dev/kafka_cluster.ts";
import { uniqueName } from "../../dev/testing.ts";
import type { TopicRecord } from "../reliability/harness.ts";

/** Starts the file's cluster once (three nodes, 512 MB each) and returns it on every call. */
export function clusterOnce(): () => Promise<LocalKafkaCluster> {
  let started: Promise<LocalKafkaCluster> | undefined;
  return () => {
    started ??= (async () => {
      const cluster = new LocalKafkaCluster({ nodes: 3, heap: "512m" });
      await cluster.start();
      return cluster;
    })();
    return started;
  };
}

/** Creates a fresh 3-partition topic (replication from the cluster's defaults) stamped with the append time. */
export async function appendTimeTopic(kafka: Kafka, prefix: string): Promise<string> {
  const topic = uniqueName(prefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [{ topic, numPartitions: 3, configs: { "message.timestamp.type": "LogAppendTime" } }]);
  } finally {
    await admin.disconnect().catch(() => {});
  }
  return topic;
}

/** What a readings topic holds compared with the producer's per-sensor sequences, and when records were appended. */
export interface TopicCheck {
  /** Readings generated (sum of the producer's per-sensor sequences). */
  generated: number;
  inTopic: number;
  invalid: number;
  distinct: number;
  /** Generated readings not in the topic, and examples of them. */
  missing: number;
  missingExamples: string[];
  /** Readings found more than once. */
  duplicated: number;
  /** Readings whose seq is not above the previous one of the same sensor, in log order. */
  reordered: number;
  /**
   * Readings that share sensor and event time with another reading (a different seq): the pipeline's
   * reading id is (sensor_id, event time), so the processor keeps only one of them.
   */
  sameInstant: number;
  /** The distinct reading ids (`readingId`: sensor and event time) in the topic. */
  readingIds: Set<string>;
  /** Per partition: the longest gap between consecutive append times that ends after the fault, in ms. */
  maxGapAfterFaultMs: Record<number, number>;
  /** Per partition: from the fault to the first record appended after it, in ms. */
  firstAfterFaultMs: Record<number, number>;
  /** Longest time from a reading's event time to its append, in ms. */
  maxDelayMs: number;
}

/**
 * Checks a readings topic by (sensor_id, seq): every generated reading present
 * once, each sensor's readings in seq order within its partition; and measures
 * append-time gaps around `faultAt` (epoch ms).
 */
export function checkTopic(records: TopicRecord[], sequences: Map<string, number>, faultAt: number): TopicCheck {
  const byPartition = inLogOrder(records);
  const seen = new Map<string, number>();
  const ids = new Map<string, number>();
  let invalid = 0;
  let reordered = 0;
  let maxDelayMs = 0;
  for (const list of byPartition.values()) {
    const lastSeq = new Map<string, number>();
    for (const r of list) {
      const d = decodeReading(r.value);
      if (!d.ok || d.reading.seq === undefined) {
        invalid++;
        continue;
      }
      const { sensor_id: sensor, seq } = d.reading;
      const key = `${sensor}:${seq}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      ids.set(d.id, (ids.get(d.id) ?? 0) + 1);
      if (seq <= (lastSeq.get(sensor) ?? -1)) reordered++;
      lastSeq.set(sensor, seq);
      maxDelayMs = Math.max(maxDelayMs, r.timestamp - d.eventTime);
    }
  }
  let generated = 0;
  let missing = 0;
  const missingExamples: string[] = [];
  for (const [sensor, n] of sequences) {
    generated += n;
    for (let seq = 0; seq < n; seq++) {
      if (seen.has(`${sensor}:${seq}`)) continue;
      missing++;
      if (missingExamples.length < 5) missingExamples.push(`${sensor}:${seq}`);
    }
  }
  let duplicated = 0;
  for (const count of seen.values()) duplicated += count - 1;
  let sameInstant = 0;
  for (const count of ids.values()) sameInstant += count - 1;
  return {
    generated,
    inTopic: records.length,
    invalid,
    distinct: seen.size,
    missing,
    missingExamples,
    duplicated,
    reordered,
    sameInstant: sameInstant - duplicated,
    readingIds: new Set(ids.keys()),
    ...appendGaps(records, faultAt),
    maxDelayMs,
  };
}

/** A topic's records per partition, in offset order. */
export function inLogOrder(records: readonly TopicRecord[]): Map<number, TopicRecord[]> {
  const byPartition = new Map<number, TopicRecord[]>();
  for (const r of records) {
    const list = byPartition.get(r.partition) ?? [];
    list.push(r);
    byPartition.set(r.partition, list);
  }
  for (const list of byPartition.values()) list.sort((a, b) => (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1));
  return byPartition;
}

/** Per partition, from the append times: the longest gap that ends after `faultAt`, and the first append after it. */
export function appendGaps(
  records: readonly TopicRecord[],
  faultAt: number,
): Pick<TopicCheck, "maxGapAfterFaultMs" | "firstAfterFaultMs"> {
  const maxGapAfterFaultMs: Record<number, number> = {};
  const firstAfterFaultMs: Record<number, number> = {};
  for (const [partition, list] of inLogOrder(records)) {
    let gap = 0;
    for (let i = 0; i < list.length; i++) {
      const r = list[i];
      if (r.timestamp < faultAt) continue;
      if (i > 0) gap = Math.max(gap, r.timestamp - list[i - 1].timestamp);
      firstAfterFaultMs[partition] ??= r.timestamp - faultAt;
    }
    maxGapAfterFaultMs[partition] = gap;
  }
  return { maxGapAfterFaultMs, firstAfterFaultMs };
}

/** Per partition, how the processor kept up after a fault, from the topic's append times and the stored readings. */
export interface StoreTimings {
  /** Longest time between consecutive stored readings (by `ingested_at`, in log order) after the fault, ms. */
  maxStoreGapAfterFaultMs: Record<number, number>;
  /** Longest time from a reading's append to the topic to its storing, of readings appended after the fault, ms. */
  maxAppendToStoreMs: Record<number, number>;
  /** From the fault to the first reading of the partition stored after it, ms. */
  firstStoredAfterFaultMs: Record<number, number>;
}

/**
 * Per-partition store timings: `records` from a `LogAppendTime` topic, `stored` the reading ids with
 * their `ingested_at` (epoch ms). Readings of several records (replays) count at their first append.
 */
export function storeTimings(
  records: TopicRecord[],
  stored: ReadonlyMap<string, number>,
  faultAt: number,
): StoreTimings {
  const out: StoreTimings = { maxStoreGapAfterFaultMs: {}, maxAppendToStoreMs: {}, firstStoredAfterFaultMs: {} };
  const byPartition = new Map<number, { appended: number; storedAt: number }[]>();
  const seen = new Set<string>();
  for (const r of [...records].sort((a, b) => (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1))) {
    const d = decodeReading(r.value);
    if (!d.ok || seen.has(d.id)) continue;
    seen.add(d.id);
    const storedAt = stored.get(d.id);
    if (storedAt === undefined) continue;
    const list = byPartition.get(r.partition) ?? [];
    list.push({ appended: r.timestamp, storedAt });
    byPartition.set(r.partition, list);
  }
  for (const [p, list] of byPartition) {
    const times = list.map((x) => x.storedAt).sort((a, b) => a - b);
    let gap = 0;
    let previous = faultAt;
    for (const t of times) {
      if (t < faultAt) continue;
      gap = Math.max(gap, t - previous);
      previous = t;
      if (out.firstStoredAfterFaultMs[p] === undefined) out.firstStoredAfterFaultMs[p] = t - faultAt;
    }
    out.maxStoreGapAfterFaultMs[p] = gap;
    out.maxAppendToStoreMs[p] = Math.max(
      0,
      ...list.filter((x) => x.appended >= faultAt).map((x) => x.storedAt - x.appended),
    );
  }
  return out;
}

/** Sleeps until the time `until` (epoch ms); at once if it has passed. */
export function sleepUntil(until: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())));
}

/** Resolves with `p`, or rejects with `message` after `ms`. */
export async function within<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
