/** Producer rate and consumer lag read from the real broker; "unreachable" when there is none. */
import assert from "node:assert/strict";
import { createKafka, createLogger, ensureTopics } from "@iot/shared";
import { uniqueName, useKafka } from "../../dev/testing.ts";
import { KafkaMonitor } from "../../web/kafka_monitor.ts";

const logger = createLogger({ name: "test", level: "error" });
const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("KafkaMonitor reads high watermarks, committed offsets and the produce rate", opts, async () => {
  const broker = await useKafka();
  const kafka = await createKafka({ brokers: broker.brokers, clientId: "web-test" }, { role: "test", logger });
  const admin = kafka.admin();
  // Idempotent: a send retried after a lost reply (a loaded machine) must not write its records twice.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const topic = uniqueName("web-lag");
  const group = uniqueName("web-group");
  const monitor = new KafkaMonitor({
    kafka: { brokers: broker.brokers, clientId: "web-test" },
    topic,
    group,
    logger,
    cacheMs: 0,
  });
  try {
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: 3 }]);
    await producer.connect();
    const send = (n: number) =>
      producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: n }, (_, i) => ({ partition: i % 3, value: `m${i}` })),
      });
    await send(30);
    const first = await monitor.snapshot();
    assert.equal(first.status, "ok", first.error);
    assert.deepEqual(first.partitions.map((p) => [p.partition, p.high, p.committed, p.lag]), [
      [0, 10, undefined, 10],
      [1, 10, undefined, 10],
      [2, 10, undefined, 10],
    ]);
    assert.equal(first.totalLag, 30);
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: "4" }] });
    await send(60);
    const second = await monitor.snapshot();
    assert.equal(second.status, "ok");
    assert.deepEqual(second.partitions.map((p) => p.lag), [26, 30, 30]);
    assert.equal(second.partitions[0].committed, 4);
    assert.ok(second.produceRate !== undefined && second.produceRate > 0, "a rate from two samples");
  } finally {
    await monitor.close();
    await producer.disconnect();
    await admin.disconnect();
    await broker.close();
  }
});

Deno.test("KafkaMonitor reports an unreachable broker instead of failing", opts, async () => {
  const monitor = new KafkaMonitor({
    kafka: { brokers: ["127.0.0.1:1"], clientId: "web-test" },
    topic: "sensor-data",
    group: "iot-processor",
    logger,
    timeoutMs: 2000,
  });
  try {
    const s = await monitor.snapshot();
    assert.equal(s.status, "unreachable");
    assert.equal(typeof s.error, "string");
    assert.deepEqual(s.partitions, []);
  } finally {
    await monitor.close();
  }
});
