import assert from "node:assert/strict";
import { ownsAll } from "./partitions.ts";

Deno.test("an instance is the sole writer only while it owns every partition of the topic", () => {
  assert.equal(ownsAll([0, 1, 2], 3), true);
  assert.equal(ownsAll([0, 2], 3), false);
  assert.equal(ownsAll([0, 1, 3], 3), false);
  assert.equal(ownsAll([], 0), false);
});
