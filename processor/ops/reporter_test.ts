import assert from "node:assert/strict";
import type { PipelineStatsDoc } from "@iot/shared";
import { createProcessorMetrics } from "../metrics.ts";
import { Reporter } from "./reporter.ts";

function reporter(
  o: { write?: (doc: Omit<PipelineStatsDoc, "_id">) => Promise<unknown>; health?: boolean[] } = {},
) {
  let now = 1_000_000;
  const counts: number[] = [];
  const r = new Reporter({
    instance: "p1",
    now: () => now,
    metrics: createProcessorMetrics(),
    topicOffsets: () => Promise.resolve([{ partition: 0, high: "150" }, { partition: 1, high: "80" }]),
    owns: (p) => p === 0,
    committedOffset: () => 100,
    onPartitionCount: (n) => counts.push(n),
    consumed: () => 500,
    totals: () => ({ consumed: 500 }),
    write: (doc) => o.write?.(doc),
    onHealth: (ok) => o.health?.push(ok),
  });
  return { r, counts, tick: (ms: number) => (now += ms) };
}

Deno.test("a heartbeat reports the lag of owned partitions, the rate and the totals in one document", async () => {
  const docs: Omit<PipelineStatsDoc, "_id">[] = [];
  const health: boolean[] = [];
  const { r, counts, tick } = reporter({ write: (d) => Promise.resolve(void docs.push(d)), health });
  r.e2e.add(40);
  tick(1000);
  await r.beat();
  assert.deepEqual(counts, [2]);
  assert.deepEqual(r.lag, { "0": 50 });
  assert.equal(docs.length, 1);
  assert.equal(docs[0].rate, 500);
  assert.equal(docs[0].e2e_lag_ms, 40);
  assert.deepEqual(docs[0].totals, { consumed: 500 });
  assert.deepEqual(health, [true]);
  r.forget([0]);
  assert.deepEqual(r.lag, {});
});

Deno.test("a failed write of the heartbeat document marks MongoDB unhealthy and is thrown", async () => {
  const health: boolean[] = [];
  const { r } = reporter({ write: () => Promise.reject(new Error("Not reachable")), health });
  await assert.rejects(() => r.beat(), /Not reachable/);
  assert.deepEqual(health, [false]);
});

Deno.test("consume-only: the heartbeat reads the lag and writes nothing", async () => {
  const health: boolean[] = [];
  const { r } = reporter({ health });
  await r.beat();
  assert.deepEqual(r.lag, { "0": 50 });
  assert.deepEqual(health, []);
});
