import assert from "node:assert/strict";
import { LogHistogram } from "./histogram.ts";

const close = (a: number, b: number, rel = 0.011) => Math.abs(a - b) <= rel * Math.abs(b) + 1e-9;

Deno.test("percentiles of a uniform distribution are within 1 % of the exact values", () => {
  const h = new LogHistogram();
  for (let i = 1; i <= 100_000; i++) h.record(i / 100); // 0.01 … 1000 ms
  assert.equal(h.count, 100_000);
  assert.ok(close(h.percentile(50), 500), `p50 ${h.percentile(50)}`);
  assert.ok(close(h.percentile(95), 950), `p95 ${h.percentile(95)}`);
  assert.ok(close(h.percentile(99), 990), `p99 ${h.percentile(99)}`);
  assert.equal(h.percentile(100), 1000);
  assert.equal(h.max, 1000);
  assert.ok(close(h.summary().mean, 500.005, 1e-9));
});

Deno.test("weighted records count as many values; skewed tails show in p99", () => {
  const h = new LogHistogram();
  h.record(2, 990);
  h.record(300, 10);
  assert.ok(close(h.percentile(50), 2));
  assert.ok(close(h.percentile(99), 2));
  assert.ok(close(h.percentile(99.5), 300));
  assert.equal(h.summary().count, 1000);
});

Deno.test("empty, zero, huge and invalid values, add and reset", () => {
  const h = new LogHistogram();
  assert.equal(h.percentile(50), 0);
  h.record(0);
  h.record(-5);
  h.record(Number.NaN);
  h.record(1, 0);
  assert.equal(h.count, 2);
  assert.equal(h.percentile(99), 0);
  h.record(1e9);
  assert.equal(h.max, 1e9);
  assert.equal(h.percentile(100), 1e9);
  const other = new LogHistogram();
  other.record(10, 5);
  h.add(other);
  assert.equal(h.count, 8);
  assert.ok(close(h.percentile(50), 10));
  h.reset();
  assert.equal(h.count, 0);
  assert.equal(h.max, 0);
});
