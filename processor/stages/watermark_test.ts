import assert from "node:assert/strict";
import { judgeBatch, Watermarks } from "./watermark.ts";

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

Deno.test("judgeBatch: an in-order batch spanning more than the lateness has nothing late", () => {
  const w = new Watermarks({ allowedLatenessMs: 10_000, idleMs: 60_000 });
  const records = Array.from({ length: 40 }, (_, i) => ({ offset: i, eventTime: 1_000_000 + i * 1000 }));
  const j = judgeBatch(w, 0, -1, records);
  assert.deepEqual(j.late.filter(Boolean), []);
  assert.equal(j.maxEvent, 1_039_000);
});

Deno.test("judgeBatch does not move the watermark: a batch fetched again is judged the same", () => {
  const w = new Watermarks({ allowedLatenessMs: 10_000, idleMs: 60_000 });
  const records = [
    { offset: 10, eventTime: 50_000 },
    { offset: 11, eventTime: 70_000 },
    { offset: 12, eventTime: 55_000 }, // 15 s behind 70 s: late
  ];
  const first = judgeBatch(w, 0, -1, records);
  const again = judgeBatch(w, 0, -1, records); // abandoned before folding, fetched again
  assert.deepEqual(first.late, [false, false, true]);
  assert.deepEqual(again, first);
  assert.equal(first.watermark[2], 60_000);
});

Deno.test("judgeBatch: once folded, records fetched again are replays, neither late nor counted", () => {
  const w = new Watermarks({ allowedLatenessMs: 10_000, idleMs: 60_000 });
  const batch = Array.from({ length: 30 }, (_, i) => ({ offset: i, eventTime: 100_000 + i * 1000 }));
  const j = judgeBatch(w, 0, -1, batch);
  w.observe(0, j.maxEvent, 0); // the caller folds, then applies the batch's watermark
  // The consumer restarts and fetches again from offset 0 (the last commit), then new records follow.
  const refetch = [...batch, { offset: 30, eventTime: 130_000 }, { offset: 31, eventTime: 100_000 }];
  const r = judgeBatch(w, 0, 29, refetch);
  assert.deepEqual(r.replay.filter(Boolean).length, 30);
  assert.deepEqual(r.late.slice(0, 30).filter(Boolean), [], "replays are not refused as late");
  assert.deepEqual(r.late.slice(30), [false, true], "a new record behind the watermark still is");
});
