/**
 * The native Kafka client on its own against the broker: partition errors are
 * reported per record, and an idempotent producer keeps working after a batch
 * failed definitively (it takes a new producer id instead of leaving a gap in
 * the partition's sequence numbers).
 */
import assert from "node:assert/strict";
import { createKafka, createLogger, ensureTopics } from "@iot/shared";
import { KafkaProtocolError, NativeProducer } from "../../producer/native_client.ts";
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
