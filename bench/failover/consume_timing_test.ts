import assert from "node:assert/strict";
import type { TopicRecord } from "../../tests/reliability/harness.ts";
import { consumeGaps, firstConsumedAfter } from "./consume_timing.ts";

function rec(partition: number, offset: number, timestamp: number): TopicRecord {
  return { key: null, value: null, headers: {}, partition, offset: String(offset), timestamp };
}

Deno.test("consumeGaps: the fault counts as the first consumption; times before it are ignored; order does not matter", () => {
  const times = new Map<number, number[]>([
    [0, [900, 1500, 1100, 1200]], // after the fault (1000): 1100, 1200, 1500 → gaps 100, 100, 300
    [1, [500, 990, 4000]], // nothing between the fault and 4000 → 3000
  ]);
  assert.deepEqual(consumeGaps(times, 1000), { 0: 300, 1: 3000, 2: 0 });
});

Deno.test("consumeGaps: a partition consumed only before the fault has gap 0, not the time since", () => {
  assert.deepEqual(consumeGaps(new Map([[2, [10, 20]]]), 1000), { 0: 0, 1: 0, 2: 0 });
});

Deno.test("firstConsumedAfter: the first record appended at or after the fault, by offset, not backlog consumed after it", () => {
  const faultAt = 10_000;
  const records = [
    rec(0, 7, 10_500), // appended after the fault, but not the first by offset
    rec(0, 6, 10_000), // the first on partition 0 (at the fault counts)
    rec(0, 5, 9_000), // backlog: consumed after the fault, does not count
    rec(1, 3, 9_999), // partition 1: nothing appended after the fault
    rec(2, 10, 12_000), // appended after, never consumed
  ];
  const firstAt = new Map([
    ["0@5", 11_000],
    ["0@6", 13_000],
    ["0@7", 12_500],
    ["1@3", 14_000],
  ]);
  assert.deepEqual(firstConsumedAfter(records, firstAt, faultAt), { 0: 3000, 1: null, 2: null });
});

Deno.test("firstConsumedAfter: offsets compare as numbers (10 after 9), not as strings", () => {
  const records = [rec(0, 10, 2000), rec(0, 9, 2000)];
  const firstAt = new Map([["0@9", 2100], ["0@10", 2050]]);
  assert.equal(firstConsumedAfter(records, firstAt, 1000)[0], 1100);
});
