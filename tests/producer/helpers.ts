/** Helpers of the producer's integration tests: read a topic back in full. */
import type { Kafka } from "kafkajs";
import { uniqueName, waitFor } from "../../dev/testing.ts";

/** One record read back from a topic. */
export interface ReadBack {
  key: string;
  value: Uint8Array;
  partition: number;
  offset: string;
  /** Kafka record timestamp (producer create time), epoch ms. */
  timestamp: number;
}

/** Reads every record of a topic up to its current end offsets. */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<ReadBack[]> {
  const admin = kafka.admin();
  await admin.connect();
  let expected = 0;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    expected = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
  const out: ReadBack[] = [];
  if (expected === 0) return out;
  const consumer = kafka.consumer({ groupId: uniqueName("readback"), maxBytes: 20 * 1024 * 1024 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        for (const m of batch.messages) {
          out.push({
            key: m.key?.toString() ?? "",
            value: new Uint8Array(m.value ?? new Uint8Array()),
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

/** Deletes topics, ignoring errors. */
export async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics });
  } catch {
    /* best effort */
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
