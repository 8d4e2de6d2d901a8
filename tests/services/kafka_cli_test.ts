/** `deno task kafka` runs Kafka's own tools from the cached jars against the broker. */
import assert from "node:assert/strict";
import { createKafka, createLogger, ensureTopics } from "@iot/shared";
import { kafkaTool, uniqueName, useKafka } from "../../dev/testing.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("kafka topics --describe shows a topic's partitions", opts, async () => {
  const broker = await useKafka();
  const kafka = await createKafka({ brokers: broker.brokers, clientId: "t" }, {
    role: "cli-test",
    logger: createLogger({ name: "t", level: "error" }),
  });
  const admin = kafka.admin();
  const topic = uniqueName("cli");
  try {
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: 3 }]);
    const r = await kafkaTool(["topics", "--bootstrap-server", broker.brokers[0], "--describe", "--topic", topic]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Topic: ${topic}\\s+TopicId: \\S+\\s+PartitionCount: 3`));
  } finally {
    await admin.disconnect();
    await broker.close();
  }
});

Deno.test("an unknown Kafka tool exits 2 with a one-line reason", async () => {
  const r = await kafkaTool(["nonsense"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim(), /^error: Unknown Kafka tool "nonsense"; one of topics, /);
});
