import assert from "node:assert/strict";
import { KafkaProtocolError } from "./errors.ts";
import { PartitionCache } from "./metadata.ts";
import { partitionForKey } from "./partitioner.ts";
import type { MetadataResponse } from "./protocol/metadata.ts";

function response(leaders: number[], topic = "t", error = 0): MetadataResponse {
  return {
    brokers: new Map([[1, { host: "a", port: 1 }], [2, { host: "b", port: 2 }]]),
    controller: 1,
    topics: [{
      error,
      name: topic,
      internal: false,
      partitions: leaders.map((leader, index) => ({ error: 0, index, leader })),
    }],
  };
}

Deno.test("the cache knows partitions, leaders and broker addresses, and routes keys like murmur2", () => {
  const c = new PartitionCache("t");
  assert.equal(c.partitions, 0);
  assert.deepEqual(c.update(response([1, 2, 1])), [0, 1, 2]);
  assert.equal(c.partitions, 3);
  assert.equal(c.leader(1), 2);
  assert.equal(c.leader(7), -1);
  assert.deepEqual(c.address(2), { host: "b", port: 2 });
  const k = c.route("sensor_0001");
  assert.equal(k.partition, partitionForKey(new TextEncoder().encode("sensor_0001"), 3));
  assert.equal(c.route("sensor_0001"), k, "cached");
});

Deno.test("an update reports the partitions whose leader moved; a new partition count re-routes keys", () => {
  const c = new PartitionCache("t");
  c.update(response([1, 2, 1]));
  assert.deepEqual(c.update(response([1, 1, 1])), [1]);
  const before = c.route("sensor_0042");
  c.update(response([1, 1, 1, 2, 2, 2, 1]));
  const after = c.route("sensor_0042");
  assert.notEqual(after, before);
  assert.equal(after.partition, partitionForKey(new TextEncoder().encode("sensor_0042"), 7));
});

Deno.test("a missing topic or a topic error is thrown as a protocol error", () => {
  const c = new PartitionCache("t");
  assert.throws(() => c.update(response([1], "other")), (e: unknown) => {
    assert.ok(e instanceof KafkaProtocolError);
    assert.match(e.message, /Metadata of topic t failed with UNKNOWN_TOPIC_OR_PARTITION/);
    return true;
  });
  assert.throws(() => c.update(response([1], "t", 29)), /TOPIC_AUTHORIZATION_FAILED/);
});
