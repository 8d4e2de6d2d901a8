import assert from "node:assert/strict";
import { countedSize, type HistoryWindow, summarizeWindows } from "./website_history.ts";

const H = Date.UTC(2026, 0, 1, 10);

function w(start: number, size: number, checks: number, up: number, samples?: number[]): HistoryWindow {
  const avg = samples?.length ? samples.reduce((a, b) => a + b, 0) / samples.length : null;
  return {
    start,
    size_s: size,
    checks,
    up,
    avg_ms: avg,
    min_ms: samples?.length ? Math.min(...samples) : null,
    max_ms: samples?.length ? Math.max(...samples) : null,
    samples,
  };
}

Deno.test("countedSize: the largest size that divides an hour", () => {
  assert.equal(countedSize([60, 300, 60]), 300);
  assert.equal(countedSize([60]), 60);
  assert.equal(countedSize([7000, 4000]), 4000);
  assert.equal(countedSize([]), undefined);
});

Deno.test("summarizeWindows: one window size, hourly buckets, weighted averages, p95 from samples", () => {
  const windows = [
    w(H, 300, 5, 5, [100, 100, 100, 100, 100]),
    w(H + 300_000, 300, 5, 4, [200, 200, 200, 200]),
    w(H + 3_600_000, 300, 10, 0, []),
    // 60 s windows over the same checks are not counted twice.
    w(H, 60, 1, 1, [100]),
  ];
  const r = summarizeWindows(windows);
  assert.equal(r.window_s, 300);
  assert.deepEqual(r.history, [
    { hour: H, checks: 10, uptime_pct: 90, avg_ms: 144.44 },
    { hour: H + 3_600_000, checks: 10, uptime_pct: 0, avg_ms: null },
  ]);
  assert.deepEqual(r.stats, {
    checks: 20,
    up: 9,
    uptime_pct: 45,
    avg_ms: 144.44,
    min_ms: 100,
    max_ms: 200,
    p95_ms: 200,
  });
  const none = summarizeWindows([]);
  assert.deepEqual(none, {
    window_s: null,
    history: [],
    stats: { checks: 0, up: 0, uptime_pct: null, avg_ms: null, min_ms: null, max_ms: null, p95_ms: null },
  });
  const noSamples = summarizeWindows([{ ...w(H, 60, 2, 2, [10, 20]), samples: undefined }]);
  assert.equal(noSamples.stats.p95_ms, null, "no p95 without the samples");
  assert.equal(noSamples.stats.avg_ms, 15);
});
