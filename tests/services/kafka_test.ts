/**
 * Spike: kafkajs under Deno against the Kafka 4.1 broker — produce, consume in
 * a consumer group, commit, and re-read only what was not committed after a restart.
 */
import assert from "node:assert/strict";
import { createKafka, createLogger, ensureTopics } from "@iot/shared";
import { uniqueName, useKafka, waitFor } from "../../dev/testing.ts";

const logger = createLogger({ name: "test", level: "warn" });
const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "kafkajs produces to and consumes from the broker in a consumer group, resuming from commits",
  opts,
  async () => {
    const broker = await useKafka();
    const kafka = await createKafka({ brokers: broker.brokers, clientId: "spike" }, { role: "test", logger });
    const admin = kafka.admin();
    const producer = kafka.producer({ idempotent: true });
    const topic = uniqueName("spike");
    const groupId = uniqueName("group");
    try {
      await admin.connect();
      assert.deepEqual(await ensureTopics(admin, [{ topic, numPartitions: 3 }]), [topic]);
      assert.deepEqual(await ensureTopics(admin, [{ topic, numPartitions: 3 }]), [], "second call creates nothing");
      await producer.connect();
      const first = Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 30}`, value: `first-${i}` }));
      await producer.send({ topic, acks: -1, messages: first });

      // First consumer: reads everything, commits.
      const seen1: string[] = [];
      const c1 = kafka.consumer({ groupId });
      await c1.connect();
      await c1.subscribe({ topic, fromBeginning: true });
      await c1.run({
        autoCommit: false,
        eachBatch: async ({ batch, resolveOffset }) => {
          for (const m of batch.messages) {
            seen1.push(m.value!.toString());
            resolveOffset(m.offset);
          }
          await c1.commitOffsets([{
            topic,
            partition: batch.partition,
            offset: (BigInt(batch.lastOffset()) + 1n).toString(),
          }]);
        },
      });
      await waitFor(() => seen1.length >= 300, { what: "300 messages", timeoutMs: 30_000 });
      await c1.disconnect();
      assert.equal(new Set(seen1).size, 300);

      // Messages produced while no consumer runs; the restarted group reads only these.
      const second = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `second-${i}` }));
      await producer.send({ topic, acks: -1, messages: second });
      const seen2: string[] = [];
      const c2 = kafka.consumer({ groupId });
      await c2.connect();
      await c2.subscribe({ topic, fromBeginning: true });
      await c2.run({
        eachMessage: ({ message }) => {
          seen2.push(message.value!.toString());
          return Promise.resolve();
        },
      });
      await waitFor(() => seen2.length >= 50, { what: "50 new messages", timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, 500));
      await c2.disconnect();
      assert.equal(seen2.length, 50);
      assert.ok(seen2.every((v) => v.startsWith("second-")), "nothing committed is read again");

      const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
      const committed = offsets[0].partitions.reduce((n, p) => n + Number(p.offset), 0);
      assert.equal(committed, 350);
    } finally {
      await producer.disconnect().catch(() => {});
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect().catch(() => {});
      await broker.close();
    }
  },
);

Deno.test("messages with the same key land in the same partition", opts, async () => {
  const broker = await useKafka();
  const kafka = await createKafka({ brokers: broker.brokers, clientId: "spike" }, { role: "test", logger });
  const producer = kafka.producer();
  const admin = kafka.admin();
  const topic = uniqueName("keys");
  try {
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: 3 }]);
    await producer.connect();
    const res1 = await producer.send({ topic, messages: [{ key: "sensor_0001", value: "a" }] });
    const res2 = await producer.send({ topic, messages: [{ key: "sensor_0001", value: "b" }] });
    assert.equal(res1[0].partition, res2[0].partition);
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    await broker.close();
  }
});
