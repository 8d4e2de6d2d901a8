import assert from "node:assert/strict";
import { markdown, median, result } from "./result.ts";

Deno.test("median of odd and even lists", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

Deno.test("result computes the ratio in the better-is-higher direction", async () => {
  const thr = await result({ name: "t", unit: "msg/s", baseline: "b", runs: [100, 300, 200], baseline_runs: [400] });
  assert.equal(thr.value, 200);
  assert.equal(thr.ratio, 0.5);
  const lat = await result({
    name: "l",
    unit: "ms",
    baseline: "b",
    runs: [20],
    baseline_runs: [10],
    lowerIsBetter: true,
  });
  assert.equal(lat.ratio, 0.5, "twice the baseline's latency is half as good");
  assert.match(markdown([thr, lat]), /\| t \| 200 msg\/s \| b \| 400 msg\/s \| 0\.5× \|/);
});
