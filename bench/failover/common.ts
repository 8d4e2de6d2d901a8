/** Bounded waits, client log capture and topic administration shared by the producer and consumer runs. */
import type { Kafka } from "kafkajs";
import { createLogger, type Logger } from "@iot/shared";
import type { LocalKafkaCluster } from "../../dev/kafka_cluster.ts";
import type { ProducerFault } from "./types.ts";
import { appendTimeTopic, type TopicCheck, within } from "../../tests/cluster/helpers.ts";
import { sleep } from "../../tests/reliability/harness.ts";

export { sleep };

/** What `settleWithin` returns when the time ran out. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/** `p`'s value, or `TIMED_OUT` after `ms` (`p` keeps running; its rejection is returned as thrown). */
export async function settleWithin<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<typeof TIMED_OUT>((r) => timer = setTimeout(() => r(TIMED_OUT), ms))]);
  } finally {
    clearTimeout(timer);
  }
}

/** `p`'s value, or an error naming `what` after `ms`. */
export function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return within(p, ms, `${what}: not within ${Math.round(ms / 1000)} s`);
}

/** Polls `check` every `intervalMs` until true; false after `ms`. */
export async function poll(check: () => boolean | Promise<boolean>, ms: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(intervalMs);
  }
  return check();
}

/** Adds an error's first line to a count of messages (numbers and ids blurred so that alike ones add up). */
export function countMessage(into: Record<string, number>, e: unknown): void {
  const text = (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).split("\n")[0].slice(0, 160)
    .replace(/\d+/g, "N");
  into[text] = (into[text] ?? 0) + 1;
}

/** A logger that keeps the warning and error lines of a client (JSON). */
export function capturingLogger(name: string): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, logger: createLogger({ name, level: "warn", format: "json", write: (l) => lines.push(l) }) };
}

/** Counts of the `msg` fields of captured JSON log lines. */
export function logMessages(lines: readonly string[]): Record<string, number> {
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
export async function deleteTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  try {
    await bounded(admin.connect(), 10_000, "admin connect");
    await bounded(admin.deleteTopics({ topics: [topic], timeout: 10_000 }), 15_000, "delete topic");
  } catch { /* left behind: the cluster is temporary */ }
  await admin.disconnect().catch(() => {});
}

/** Committed offsets of a group on a topic (partitions without a commit: -1). */
export async function committedOffsets(kafka: Kafka, group: string, topic: string): Promise<Record<number, number>> {
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
export async function highWatermarks(kafka: Kafka, topic: string): Promise<Record<number, number>> {
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
export async function writeMarkers(kafka: Kafka, topic: string, perPartition: number): Promise<void> {
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

/** A producer run's topic and its victim (the leader of partition 0, or the active controller), and the partitions it leads. */
export interface VictimTopic {
  topic: string;
  victim: number;
  /** The node of the active controller when the victim was chosen. */
  controller: number;
  affected: number[];
}

/**
 * Creates a fresh append-time topic of `prefix`, waits until it is in sync and names the victim of `fault`: the
 * active controller's node for `controller-sigkill`, else the leader of partition 0.
 */
export async function victimTopic(
  cluster: LocalKafkaCluster,
  kafka: Kafka,
  prefix: string,
  fault?: ProducerFault,
): Promise<VictimTopic> {
  const topic = await appendTimeTopic(kafka, prefix);
  await cluster.waitInSync([topic], 60_000);
  const before = await cluster.describe([topic]);
  const controller = await cluster.activeController();
  const victim = fault === "controller-sigkill" ? controller : before.find((p) => p.partition === 0)!.leader;
  if (victim < 0) throw new Error(`No active controller known for ${topic}`);
  return { topic, victim, controller, affected: before.filter((p) => p.leader === victim).map((p) => p.partition) };
}

/** The longest append gap after the fault over `partitions`, ms; null when one of them had no append after it. */
export function worstGap(
  gaps: Pick<TopicCheck, "maxGapAfterFaultMs" | "firstAfterFaultMs">,
  partitions: readonly number[],
): number | null {
  return partitions.some((p) => gaps.firstAfterFaultMs[p] === undefined)
    ? null
    : Math.max(0, ...partitions.map((p) => gaps.maxGapAfterFaultMs[p] ?? 0));
}
