import assert from "node:assert/strict";
import { LagMedian, partitionLag, processorStatsDoc, RateMeter } from "./heartbeat.ts";

Deno.test("the rate is smoothed over the last window of samples", () => {
  const m = new RateMeter(0, 10_000);
  assert.equal(m.sample(1000, 100), 100);
  assert.equal(m.sample(2000, 300), 150);
  // Older samples fall out once a newer one is a full window old.
  m.sample(12_000, 1300);
  assert.equal(Math.round(m.sample(13_000, 1400)), 100);
});

Deno.test("the end-to-end lag is the median of the interval, kept when no sample came", () => {
  const l = new LagMedian();
  for (const v of [50, 10, 30]) l.add(v);
  assert.equal(l.take(), 30);
  assert.equal(l.take(), 30);
  assert.equal(l.value, 30);
});

Deno.test("the stats document carries the clock's time and a rounded rate", () => {
  const d = processorStatsDoc({
    instance: "a",
    now: 5000,
    startedAt: new Date(0),
    rate: 12.6,
    totals: { consumed: 3 },
    lag: { "0": 1 },
    e2eLagMs: 7,
  });
  assert.equal(d.updated_at.getTime(), 5000);
  assert.equal(d.rate, 13);
  assert.equal(d.role, "processor");
});

Deno.test("the lag of an owned partition is its high watermark minus the committed offset", () => {
  const committed = new Map([[0, 100], [2, 50]]);
  assert.deepEqual(
    partitionLag(
      [{ partition: 0, high: "120" }, { partition: 1, high: "9" }, { partition: 2, high: "40" }, {
        partition: 3,
        high: "7",
      }],
      (p) => p !== 1,
      (p) => committed.get(p),
    ),
    { "0": 20, "2": 0, "3": 7 },
  );
});
