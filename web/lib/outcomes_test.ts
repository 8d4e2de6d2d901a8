import assert from "node:assert/strict";
import { hasOutcomes, isOutcomeField, outcomeView } from "./outcomes.ts";

Deno.test("outcomeView: every outcome in order, dead letters by reason, the sum and what is still pending", () => {
  const v = outcomeView({
    consumed: 1000,
    stored: 950,
    outcome_stored: 950,
    outcome_duplicate: 20,
    outcome_dead_lettered: 12,
    outcome_late: 3,
    outcome_future_kind: 5,
    dead_lettered_out_of_range: 8,
    dead_lettered_invalid_json: 4,
    seq_gap: 2,
    seq_missing: 7,
  });
  assert.deepEqual(v.outcomes.map((o) => `${o.name}=${o.count}`), [
    "stored=950",
    "replay=0",
    "duplicate=20",
    "dead_lettered=12",
    "late=3",
    "abandoned=0",
    "consume_only=0",
    "future_kind=5",
  ]);
  assert.deepEqual(v.deadLetteredByReason, [{ reason: "out_of_range", count: 8 }, {
    reason: "invalid_json",
    count: 4,
  }]);
  assert.equal(v.sum, 990);
  assert.equal(v.pending, 10);
  assert.deepEqual(v.seq, { gap: 2, missing: 7 });
});

Deno.test("hasOutcomes: only heartbeats with outcome fields", () => {
  assert.equal(hasOutcomes({ consumed: 5, stored: 5 }), false);
  assert.equal(hasOutcomes({ consumed: 5, outcome_stored: 5 }), true);
});

Deno.test("isOutcomeField: the fields the outcome table shows", () => {
  assert.deepEqual(
    ["consumed", "outcome_stored", "dead_lettered_late", "dead_letters", "seq_gap", "stored"].filter(isOutcomeField),
    ["outcome_stored", "dead_lettered_late", "seq_gap"],
  );
});
