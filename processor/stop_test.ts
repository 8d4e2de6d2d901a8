import assert from "node:assert/strict";
import { createLogger } from "@iot/shared";
import { drainWithin, stopBudget, uncommittedOffsets } from "./stop.ts";

function quietLog(lines: string[] = []) {
  return createLogger({ name: "test", level: "debug", format: "json", write: (l) => lines.push(l) });
}

Deno.test("a stop gives the flush most of its deadline and each close a tenth, at most 2 s", () => {
  assert.deepEqual(stopBudget(10_000), { closeMs: 1000, abandonAfterMs: 7000 });
  assert.deepEqual(stopBudget(60_000), { closeMs: 2000, abandonAfterMs: 54_000 });
  assert.deepEqual(stopBudget(0), { closeMs: 0, abandonAfterMs: 0 });
});

Deno.test("a final flush that completes is a clean drain: nothing abandoned, the heartbeat runs", async () => {
  const abandon = new AbortController();
  let beat = 0;
  const r = await drainWithin({
    graceMs: 10_000,
    abandon,
    flush: () => Promise.resolve(),
    heartbeat: () => Promise.resolve(void beat++),
    log: quietLog(),
  });
  assert.deepEqual(r, { flushed: true, closeMs: 1000 });
  assert.equal(abandon.signal.aborted, false);
  assert.equal(beat, 1);
});

Deno.test("a final flush that never ends is abandoned at the deadline, with an error logged", async () => {
  const abandon = new AbortController();
  const lines: string[] = [];
  let beat = 0;
  const r = await drainWithin({
    graceMs: 20,
    abandon,
    flush: () => new Promise(() => {}),
    heartbeat: () => Promise.resolve(void beat++),
    log: quietLog(lines),
  });
  assert.equal(r.flushed, false);
  assert.equal(abandon.signal.aborted, true);
  assert.equal(beat, 0);
  assert.ok(lines.some((l) => l.includes("Stop deadline passed")));
});

Deno.test("a final flush that fails abandons the rest at once", async () => {
  const abandon = new AbortController();
  const lines: string[] = [];
  const r = await drainWithin({
    graceMs: 10_000,
    abandon,
    flush: () => Promise.reject(new Error("Window write gave up")),
    heartbeat: () => Promise.resolve(),
    log: quietLog(lines),
  });
  assert.equal(r.flushed, false);
  assert.equal(abandon.signal.aborted, true);
  assert.ok(lines.some((l) => l.includes("Final flush failed")));
});

Deno.test("the stop report lists the partitions fetched beyond their committed offset", () => {
  const committed = new Map([[0, 10], [1, 5]]);
  const folded = new Map([[0, 9], [1, 7], [2, -1]]);
  assert.deepEqual(
    uncommittedOffsets([0, 1, 2, 3], (p) => committed.get(p), (p) => folded.get(p) ?? -1),
    { "1": { committed: 5, fetchedUpTo: 8 } },
  );
  assert.deepEqual(uncommittedOffsets([4], () => undefined, () => 3), { "4": { committed: null, fetchedUpTo: 4 } });
});
