import assert from "node:assert/strict";
import { Watermarks } from "./watermark.ts";

Deno.test("partition watermark is max event time minus allowed lateness; late events are behind it", () => {
  const w = new Watermarks({ allowedLatenessMs: 10_000, idleMs: 60_000 });
  w.assign([0], 0);
  assert.equal(w.partition(0, 0), -Infinity);
  w.observe(0, 100_000, 0);
  w.observe(0, 95_000, 0);
  assert.equal(w.partition(0, 0), 90_000);
  assert.equal(w.isLate(0, 90_000), false, "exactly at the watermark is allowed");
  assert.equal(w.isLate(0, 89_999), true);
  assert.equal(w.isLate(1, 0), false, "another partition has its own watermark");
});

Deno.test("the global watermark waits for every assigned partition, then empty idle ones stop holding it", () => {
  const w = new Watermarks({ allowedLatenessMs: 1000, idleMs: 5000 });
  w.assign([0, 1, 2], 0);
  w.observe(0, 50_000, 100);
  w.observe(1, 30_000, 100);
  assert.equal(w.global(200), -Infinity, "partition 2 has no data yet");
  assert.equal(w.global(5000), 29_000, "partition 2 idle and empty: min of the others");
  w.observe(1, 70_000, 5000);
  assert.equal(w.global(5001), 49_000);
});

Deno.test("an idle partition's watermark follows the wall clock so windows close", () => {
  const w = new Watermarks({ allowedLatenessMs: 1000, idleMs: 2000 });
  w.assign([0], 0);
  w.observe(0, 10_000, 0);
  assert.equal(w.partition(0, 1999), 9000);
  assert.equal(w.partition(0, 2000), 11_000);
  assert.equal(w.global(5000), 14_000);
  assert.equal(w.isLate(0, 9500), false, "lateness ignores the idle fallback: a stalled consumer is not idle input");
  assert.equal(w.isLate(0, 8999), true);
});

Deno.test("the global watermark never goes backwards, also after a rebalance", () => {
  const w = new Watermarks({ allowedLatenessMs: 0, idleMs: 100_000 });
  w.assign([0], 0);
  w.observe(0, 10_000, 0);
  assert.equal(w.global(0), 10_000);
  w.assign([1], 0);
  w.observe(1, 5000, 0);
  assert.equal(w.global(0), 10_000);
  assert.equal(w.partition(0, 0), -Infinity, "revoked partitions are forgotten");
});
