import assert from "node:assert/strict";
import {
  checkReading,
  checkSilence,
  checkThreshold,
  DEFAULT_DETECTOR_CONFIG as cfg,
  type Finding,
  newSensorState,
  silenceLimitSeconds,
} from "./detectors.ts";

function feed(values: number[], stepMs = 1000): Finding[][] {
  const s = newSensorState("temperature");
  return values.map((v, i) => checkReading(s, v, i * stepMs, cfg));
}

Deno.test("threshold fires outside the normal band with the crossed edge, critical far outside", () => {
  assert.equal(checkThreshold("temperature", 20, cfg), undefined);
  assert.equal(checkThreshold("temperature", 25, cfg), undefined, "the band edge is normal");
  const hot = checkThreshold("temperature", 27, cfg)!;
  assert.equal(hot.rule, "threshold");
  assert.equal(hot.severity, "warning");
  assert.equal(hot.threshold, 25);
  assert.equal(hot.baseline, 20);
  assert.match(hot.message, /above the normal band 15–25/);
  const cold = checkThreshold("temperature", 5, cfg)!;
  assert.equal(cold.severity, "critical");
  assert.equal(cold.threshold, 15);
});

Deno.test("z-score fires on an outlier only after the warm-up", () => {
  const normal = Array.from({ length: 40 }, (_, i) => 20 + Math.sin(i) * 0.5);
  const quiet = feed([...normal, 20.3]);
  assert.ok(quiet.every((f) => !f.some((x) => x.rule === "zscore")), "no z-score alert on normal noise");
  const spike = feed([...normal, 24.9]);
  const z = spike.at(-1)!.find((x) => x.rule === "zscore")!;
  assert.ok(z, "an outlier after the warm-up fires");
  assert.ok(z.baseline > 19 && z.baseline < 21);
  assert.match(z.message, /standard deviations/);
  const early = feed([20, 20.1, 19.9, 24.9]);
  assert.ok(early.every((f) => !f.some((x) => x.rule === "zscore")), "no z-score alert during warm-up");
});

Deno.test("rate of change fires on a jump faster than one band width per second", () => {
  const fast = feed([20, 31]);
  const f = fast[1].find((x) => x.rule === "rate_of_change")!;
  assert.ok(f);
  assert.equal(f.threshold, 10);
  assert.equal(f.baseline, 20);
  const slow = feed([20, 29], 2000);
  assert.ok(!slow[1].some((x) => x.rule === "rate_of_change"), "4.5 °C/s is within the limit");
});

Deno.test("stuck fires after N identical readings and not before", () => {
  const values = Array.from({ length: cfg.stuckReadings }, () => 21.5);
  const out = feed(values);
  assert.ok(!out[cfg.stuckReadings - 2].some((x) => x.rule === "stuck"));
  const f = out[cfg.stuckReadings - 1].find((x) => x.rule === "stuck")!;
  assert.ok(f);
  assert.equal(f.threshold, cfg.stuckReadings);
  const varied = feed(values.map((v, i) => (i === 10 ? 21.6 : v)));
  assert.ok(varied.every((x) => !x.some((y) => y.rule === "stuck")));
});

Deno.test("silence fires once the limit has passed", () => {
  assert.equal(checkSilence("humidity", 59_999, cfg), undefined);
  const f = checkSilence("humidity", 61_000, cfg)!;
  assert.equal(f.rule, "silence");
  assert.equal(f.threshold, 60);
  assert.equal(f.value, 61);
  assert.equal(f.severity, "warning");
  assert.equal(checkSilence("humidity", 400_000, cfg)!.severity, "critical");
});

Deno.test("silence adapts to the sensor's usual interval, within the minimum and the limit", () => {
  assert.equal(silenceLimitSeconds(cfg), 60, "unknown interval: the limit");
  assert.equal(silenceLimitSeconds(cfg, 1000), 10, "1 s readings: 10 intervals, not below the minimum");
  assert.equal(silenceLimitSeconds(cfg, 3000), 30);
  assert.equal(silenceLimitSeconds(cfg, 30_000), 60, "never above the limit");
  assert.equal(checkSilence("humidity", 9_000, cfg, 1000), undefined);
  assert.equal(checkSilence("humidity", 10_000, cfg, 1000)?.threshold, 10);
});

Deno.test("rate of change adopts a new level after 3 agreeing jumps, never a run of scattered spikes", () => {
  const roc = (out: Finding[][]) => out.map((f) => f.some((x) => x.rule === "rate_of_change"));
  // A level shift: 3 readings near 55 after 20, then the new level is the reference.
  assert.deepEqual(roc(feed([20, 55, 55.5, 55.2, 55.4, 55.1])), [false, true, true, true, false, false]);
  // Three spikes in a row, far apart from each other (up, down, down): the reference stays 21.8, so the
  // normal readings after them do not fire.
  assert.deepEqual(roc(feed([21.8, 32, -8.7, -12.9, 23.5, 23.6, 23.3])), [
    false,
    true,
    true,
    true,
    false,
    false,
    false,
  ]);
});
