import assert from "node:assert/strict";
import { SeqTracker } from "./seq_tracker.ts";

Deno.test("SeqTracker: a dense stream is first then next", () => {
  const t = new SeqTracker();
  assert.deepEqual(t.observe("s1", 0), { kind: "first" });
  for (let i = 1; i < 100; i++) assert.deepEqual(t.observe("s1", i), { kind: "next" });
  assert.equal(t.highest("s1"), 99);
  assert.deepEqual(t.totals(), { missing: 0, reorders: 0, repeats: 0, restarts: 0 });
});

Deno.test("SeqTracker: gaps, reorders, repeats and restarts per sensor", () => {
  const t = new SeqTracker({ reorderWindow: 10 });
  t.observe("a", 0);
  t.observe("b", 7); // a sensor first seen mid-stream
  assert.deepEqual(t.observe("a", 4), { kind: "gap", missing: 3 });
  assert.deepEqual(t.observe("a", 2), { kind: "reorder", behind: 2 });
  assert.deepEqual(t.observe("a", 4), { kind: "repeat" });
  assert.deepEqual(t.observe("b", 8), { kind: "next" }, "sensors are independent");
  assert.deepEqual(t.observe("a", 0), { kind: "restart", previous: 4 }, "back at 0");
  assert.deepEqual(t.observe("a", 1), { kind: "next" }, "tracking starts again after a restart");
  t.observe("b", 50);
  assert.deepEqual(t.observe("b", 30), { kind: "restart", previous: 50 }, "far behind: a restart");
  assert.deepEqual(t.observe("b", 25), { kind: "reorder", behind: 5 });
  assert.deepEqual(t.totals(), { missing: 3 + 41, reorders: 2, repeats: 1, restarts: 2 });
});

Deno.test("SeqTracker: forget drops a sensor's state", () => {
  const t = new SeqTracker();
  t.observe("a", 5);
  t.observe("b", 1);
  assert.equal(t.size, 2);
  t.forget("a");
  assert.equal(t.size, 1);
  assert.equal(t.highest("a"), undefined);
  assert.deepEqual(t.observe("a", 9), { kind: "first" });
});
