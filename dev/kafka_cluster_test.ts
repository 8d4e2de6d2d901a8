/** The local cluster's pure parts: Kafka's group-to-coordinator rule, cluster ids, settings by size. */
import assert from "node:assert/strict";
import { ServiceStartError } from "@iot/shared";
import { LocalKafkaCluster, newClusterId, OFFSETS_TOPIC_PARTITIONS, offsetsPartitionOf } from "./kafka_cluster.ts";

Deno.test("offsetsPartitionOf follows Kafka: abs(String.hashCode) modulo the offsets topic's partitions", () => {
  assert.equal(OFFSETS_TOPIC_PARTITIONS, 3);
  assert.equal(offsetsPartitionOf(""), 0); // hashCode 0
  assert.equal(offsetsPartitionOf("a"), 97 % 3); // hashCode 97
  assert.equal(offsetsPartitionOf("hello"), 99162322 % 3); // hashCode 99162322
  assert.equal(offsetsPartitionOf("hello", 50), 99162322 % 50);
  // hashCode Integer.MIN_VALUE, which Kafka's Utils.abs maps to 0.
  assert.equal(offsetsPartitionOf("polygenelubricants", 7), 0);
  // Negative hashCodes: -1580979136 and -672537928.
  assert.equal(offsetsPartitionOf("zzzzzzzzzz"), 1580979136 % 3);
  assert.equal(offsetsPartitionOf("rel-cluster-group", 50), 672537928 % 50);
});

Deno.test("newClusterId gives 16 random bytes as 22 URL-safe base64 characters", () => {
  const ids = new Set(Array.from({ length: 50 }, () => newClusterId()));
  assert.equal(ids.size, 50);
  for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{22}$/);
});

Deno.test("newClusterId never starts with '-', which kafka-storage would take for an option", () => {
  let calls = 0;
  const id = newClusterId((bytes) => {
    calls++;
    bytes.fill(0);
    if (calls === 1) bytes[0] = 0xf8; // the first 6 bits are 62: "+", made URL-safe "-"
  });
  assert.equal(calls, 2, "the id that started with '-' was drawn again");
  assert.equal(id, "A".repeat(22));
});

Deno.test("a local cluster replicates to min(n, 3) nodes with one fewer in sync, on distinct ports", async () => {
  assert.throws(() => new LocalKafkaCluster({ nodes: 1 }), ServiceStartError);
  assert.throws(() => new LocalKafkaCluster({ nodes: 3, ports: [1, 2] }), /needs 3 ports/);
  const three = new LocalKafkaCluster({ nodes: 3 });
  const two = new LocalKafkaCluster({ nodes: 2 });
  try {
    assert.equal(three.replicationFactor, 3);
    assert.equal(three.minInsyncReplicas, 2);
    assert.equal(two.replicationFactor, 2);
    assert.equal(two.minInsyncReplicas, 1);
    assert.equal(new Set(three.brokerList).size, 3);
    assert.equal(three.brokers, three.brokerList.join(","));
    assert.ok(three.brokerList.every((b) => /^127\.0\.0\.1:\d+$/.test(b)));
    assert.equal(three.running, false);
    assert.throws(() => three.node(3), RangeError);
    await assert.rejects(() => three.describe(["x"]), /No node of the local Kafka cluster is running/);
  } finally {
    await three.dispose();
    await two.dispose();
  }
});
