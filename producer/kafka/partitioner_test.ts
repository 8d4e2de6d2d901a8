import assert from "node:assert/strict";
// kafkajs' default partitioner serves as an independent reference.
import { Partitioners } from "kafkajs";
import { murmur2, partitionForKey } from "./partitioner.ts";

const enc = new TextEncoder();

Deno.test("murmur2 matches the Java client's test vectors and kafkajs' default partitioner", () => {
  const vectors: [string, number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
  ];
  for (const [s, h] of vectors) assert.equal(murmur2(enc.encode(s)), h, s);
  const partitioner = Partitioners.DefaultPartitioner();
  for (const partitions of [1, 2, 3, 7, 12]) {
    const partitionMetadata = Array.from(
      { length: partitions },
      (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }),
    );
    for (let i = 1; i <= 3000; i++) {
      const key = `sensor_${String(i).padStart(4, "0")}`;
      const expected = partitioner({ topic: "t", partitionMetadata, message: { key, value: "" } });
      assert.equal(partitionForKey(enc.encode(key), partitions), expected, `${key} with ${partitions} partitions`);
    }
  }
});
