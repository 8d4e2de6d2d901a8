import assert from "node:assert/strict";
import { Writer } from "./bytes.ts";

Deno.test("varints are zig-zag encoded like Kafka's", () => {
  const bytes = (v: number) => [...new Writer(16).varint(v).result()];
  assert.deepEqual(bytes(0), [0]);
  assert.deepEqual(bytes(-1), [1]);
  assert.deepEqual(bytes(1), [2]);
  assert.deepEqual(bytes(63), [126]);
  assert.deepEqual(bytes(64), [0x80, 0x01]);
  assert.deepEqual(bytes(300), [0xd8, 0x04]);
  assert.deepEqual(bytes(-300), [0xd7, 0x04]);
});
