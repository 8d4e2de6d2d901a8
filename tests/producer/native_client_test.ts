/**
 * The native Kafka client on its own against the broker: partition errors are
 * reported per record, an idempotent producer keeps working after a batch
 * failed definitively (it takes a new producer id instead of leaving a gap in
 * the partition's sequence numbers), records above the topic's
 * max.message.bytes are refused alone, and batches the broker finds too large
 * are split and retried.
 */
import assert from "node:assert/strict";
import type { Kafka } from "kafkajs";
import { createKafka, createLogger, ensureTopics } from "@iot/shared";
import { KafkaProtocolError, NativeProducer } from "../../producer/kafka/mod.ts";
import { uniqueName, useKafka } from "../../dev/testing.ts";
import { deleteTopics, readTopic } from "./helpers.ts";

const logger = createLogger({ name: "test", level: "error" });
const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("a rejected batch is reported and later sends to its partition still succeed, in order", opts, async () => {
  const broker = await useKafka();
  const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
  const topic = uniqueName("native-reset");
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, numPartitions: 2 }]);
  await admin.disconnect();
  const producer = await NativeProducer.connect({
    brokers: broker.brokers,
    clientId: "test",
    topic,
    acks: -1,
    idempotent: true,
    compression: "none",
    retries: 3,
    // Above the broker's limit: the broker itself refuses the record, which fails its batch definitively.
    maxMessageBytes: 10_000_000,
    logger,
  });
  try {
    const first = await producer.send([{ key: "k", value: "before" }], Date.now());
    assert.deepEqual(first, { acked: 1, failed: 0 });
    const tooLarge = await producer.send([{ key: "k", value: "x".repeat(1_500_000) }], Date.now());
    assert.equal(tooLarge.acked, 0);
    assert.equal(tooLarge.failed, 1);
    assert.ok(tooLarge.error instanceof KafkaProtocolError);
    assert.match(tooLarge.error.message, /MESSAGE_TOO_LARGE/);
    for (let i = 0; i < 10; i++) {
      const messages = Array.from({ length: 100 }, (_, j) => ({ key: "k", value: `after-${i * 100 + j}` }));
      assert.deepEqual(await producer.send(messages, Date.now()), { acked: 100, failed: 0 }, `send ${i}`);
    }
    const values = (await readTopic(kafka, topic)).map((r) => new TextDecoder().decode(r.value));
    assert.deepEqual(values, ["before", ...Array.from({ length: 1000 }, (_, i) => `after-${i}`)]);
  } finally {
    producer.close();
    await deleteTopics(kafka, [topic]);
    await broker.close();
  }
});

Deno.test("producing to a missing topic fails to connect with UNKNOWN_TOPIC_OR_PARTITION", opts, async () => {
  const broker = await useKafka();
  try {
    await assert.rejects(
      NativeProducer.connect({
        brokers: broker.brokers,
        clientId: "test",
        topic: uniqueName("missing"),
        acks: 1,
        idempotent: false,
        compression: "none",
        retries: 1,
        logger,
      }),
      /UNKNOWN_TOPIC_OR_PARTITION/,
    );
  } finally {
    await broker.close();
  }
});

/** A topic with a small max.message.bytes, and values of mixed sizes around it. */
async function smallTopic(kafka: Kafka, limit: number): Promise<string> {
  const topic = uniqueName("native-small");
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, numPartitions: 2, configs: { "max.message.bytes": String(limit) } }]);
  await admin.disconnect();
  return topic;
}

function mixedMessages(n: number, seed: number): { key: string; value: string }[] {
  let x = seed;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: n }, (_, i) => ({
    key: `sensor_${i % 17}`,
    value: `${i}:` + "v".repeat(Math.floor(20 + rnd() * 3000)),
  }));
}

for (
  const [what, maxMessageBytes] of [["read from the topic", undefined], ["unknown to the client", 5_000_000]] as const
) {
  Deno.test(
    `mixed-size records with one oversized: the valid ones acked and in the topic, the oversized refused alone (limit ${what})`,
    opts,
    async () => {
      const broker = await useKafka();
      const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
      const topic = await smallTopic(kafka, 20_000);
      const producer = await NativeProducer.connect({
        brokers: broker.brokers,
        clientId: "test",
        topic,
        acks: -1,
        idempotent: true,
        compression: "none",
        maxMessageBytes,
        logger,
      });
      try {
        if (maxMessageBytes === undefined) assert.equal(producer.maxMessageBytes, 20_000);
        const messages = mixedMessages(400, 7);
        messages.splice(123, 0, { key: "sensor_3", value: "oversized:" + "x".repeat(30_000) });
        const outcome = await producer.send(messages, Date.now());
        assert.equal(outcome.acked, 400);
        assert.equal(outcome.failed, 1);
        assert.equal(outcome.refused, 1);
        assert.ok(outcome.error instanceof KafkaProtocolError);
        assert.match(outcome.error.message, /MESSAGE_TOO_LARGE/);
        // Later sends still work.
        assert.deepEqual(await producer.send(mixedMessages(50, 8), Date.now()), { acked: 50, failed: 0 });
        const values = (await readTopic(kafka, topic)).map((r) => new TextDecoder().decode(r.value));
        assert.equal(values.length, 450);
        assert.ok(!values.some((v) => v.startsWith("oversized:")));
        // Per key, the records are in the topic in the order sent.
        const sent = [...messages.filter((m) => !m.value.startsWith("oversized:")), ...mixedMessages(50, 8)];
        const byKey = (vs: { key: string; value: string }[]) => {
          const m = new Map<string, string[]>();
          for (const v of vs) m.set(v.key, [...(m.get(v.key) ?? []), v.value]);
          return m;
        };
        const records = await readTopic(kafka, topic);
        assert.deepEqual(
          byKey(records.map((r) => ({ key: r.key, value: new TextDecoder().decode(r.value) }))),
          byKey(sent),
        );
      } finally {
        producer.close();
        await deleteTopics(kafka, [topic]);
        await broker.close();
      }
    },
  );
}
