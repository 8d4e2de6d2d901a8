import assert from "node:assert/strict";
import { percentile, pushRecent, summarize, windowStart } from "./stats.ts";
import type { RecentCheck } from "@iot/shared";

Deno.test("percentile is nearest-rank and null on no samples", () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 95), 95);
  assert.equal(percentile(xs, 100), 100);
  assert.equal(percentile([7], 95), 7);
  assert.equal(percentile([], 95), null);
});

Deno.test("summarize counts uptime over all checks and times over responses only", () => {
  const s = summarize([{ ms: 100, up: true }, { ms: 300, up: true }, { ms: 2000, up: false }, { ms: null, up: false }]);
  assert.equal(s.checks, 4);
  assert.equal(s.up, 2);
  assert.equal(s.uptime_pct, 50);
  assert.equal(s.avg_ms, 800);
  assert.equal(s.min_ms, 100);
  assert.equal(s.max_ms, 2000);
  assert.equal(s.p95_ms, 2000);
  const none = summarize([{ ms: null, up: false }]);
  assert.equal(none.avg_ms, null);
  assert.equal(none.uptime_pct, 0);
});

Deno.test("pushRecent keeps only the last N checks", () => {
  const recent: RecentCheck[] = [];
  for (let t = 0; t < 150; t++) pushRecent(recent, { t, ms: t, up: true }, 100);
  assert.equal(recent.length, 100);
  assert.equal(recent[0].t, 50);
  assert.equal(recent[99].t, 149);
});

Deno.test("windowStart aligns to the window size", () => {
  assert.equal(windowStart(125_500, 60), 120_000);
  assert.equal(windowStart(120_000, 60), 120_000);
});
