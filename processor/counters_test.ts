import assert from "node:assert/strict";
import { Counters } from "./counters.ts";
import { createProcessorMetrics } from "./metrics.ts";
import type { Rejected } from "./stages/decode.ts";
import { testValid } from "./stages/testing.ts";

const rejected = (reason: Rejected["reason"]) => ({ reason }) as Rejected;

Deno.test("every record of a settled batch ends in one outcome", () => {
  const c = new Counters(createProcessorMetrics());
  const stored = testValid("sensor_0001", 1);
  const replay = { ...testValid("sensor_0001", 2), replay: true };
  const duplicate = testValid("sensor_0001", 3);
  const late = { ...testValid("sensor_0001", 4), late: true };
  const d = {
    valid: [stored, replay, duplicate, late],
    rejected: [rejected("invalid_json"), rejected("invalid_json"), rejected("late")],
    invalid: 2,
    late: 1,
  };
  c.decoded(6, d);
  c.settled(d, { stored: [true, false, false, false] });
  assert.deepEqual(c.outcomes, { dead_lettered: 2, late: 1, stored: 1, replay: 1, duplicate: 1 });
  assert.deepEqual(c.deadLetteredByReason, { invalid_json: 2 });
  assert.equal(c.totals.consumed, 6);
  assert.equal(c.totals.invalid, 2);
  assert.equal(c.totals.late, 1);
});

Deno.test("the heartbeat totals carry outcomes, dead-letter reasons and sequence events by name", () => {
  const c = new Counters(createProcessorMetrics());
  c.count("abandoned", 3);
  c.count("dead_lettered", 1, "too_large");
  c.totals.stored = 5;
  const t = c.heartbeatTotals({ open_windows: 2 }, { gap: 1, missing: 2, reorder: 0, repeat: 0, restart: 0 });
  assert.equal(t.stored, 5);
  assert.equal(t.open_windows, 2);
  assert.equal(t.outcome_abandoned, 3);
  assert.equal(t.dead_lettered_too_large, 1);
  assert.equal(t.seq_gap, 1);
  assert.equal(t.seq_missing, 2);
});
