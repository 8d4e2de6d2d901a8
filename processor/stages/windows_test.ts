import assert from "node:assert/strict";
import { type SensorReading, windowId } from "@iot/shared";
import {
  assignWindows,
  emptyPart,
  foldValue,
  loadedPart,
  mergeParts,
  storablePart,
  windowStart,
  windowTotals,
} from "./windows.ts";

const r: SensorReading = {
  sensor_id: "sensor_0001",
  sensor_type: "temperature",
  value: 21,
  location: "factory-floor-a1",
  timestamp: "2026-01-01T00:00:59.999Z",
  status: "normal",
  seq: 1,
  metadata: { unit: "°C", sensor_model: "TMP117", battery_level: 80 },
};

Deno.test("windowStart aligns event time to the window size, boundaries belong to the next window", () => {
  assert.equal(windowStart(59_999, 10_000), 50_000);
  assert.equal(windowStart(60_000, 10_000), 60_000);
  assert.equal(windowStart(60_000, 60_000), 60_000);
  assert.equal(windowStart(0, 60_000), 0);
});

Deno.test("assignWindows gives one type_location and one sensor window per size", () => {
  const t = Date.parse(r.timestamp);
  const keys = assignWindows(r, t, [10_000, 60_000]);
  assert.equal(keys.length, 4);
  const base = Date.UTC(2026, 0, 1);
  assert.deepEqual(keys.map((k) => k.id), [
    windowId("type_location", "temperature/factory-floor-a1", base + 50_000, 10_000),
    windowId("sensor", "sensor_0001", base + 50_000, 10_000),
    windowId("type_location", "temperature/factory-floor-a1", base, 60_000),
    windowId("sensor", "sensor_0001", base, 60_000),
  ]);
  assert.equal(keys[0].id, `type_location|temperature/factory-floor-a1|${base + 50_000}|10`);
  assert.equal(keys[1].sensor_id, "sensor_0001");
  assert.equal(keys[0].sensor_id, undefined);
});

Deno.test("foldValue aggregates and skips offsets already folded", () => {
  const p = emptyPart();
  assert.ok(foldValue(p, 10, 1000, 5, false));
  assert.ok(foldValue(p, 20, 3000, 6, true));
  assert.ok(foldValue(p, 30, 2000, 7, false));
  assert.equal(foldValue(p, 99, 4000, 6, false), false, "a replayed offset is not counted");
  assert.equal(foldValue(p, 99, 4000, 7, false), false);
  assert.equal(p.count, 3);
  assert.equal(p.sum, 60);
  assert.equal(p.min, 10);
  assert.equal(p.max, 30);
  assert.equal(p.last, 20, "last is the value with the latest event time");
  assert.equal(p.first_t, 1000);
  assert.equal(p.last_t, 3000);
  assert.equal(p.anomalies, 1);
  assert.equal(p.offset, 7);
});

Deno.test("mergeParts equals folding everything into one part (count, mean, variance)", () => {
  const values = [1012.5, 1003.1, 1019.9, 1007.7, 1001.2, 1015.0, 1010.4];
  const whole = emptyPart();
  const a = emptyPart();
  const b = emptyPart();
  values.forEach((v, i) => {
    foldValue(whole, v, i * 1000, i, false);
    foldValue(i % 3 === 0 ? a : b, v, i * 1000, i, false);
  });
  const m = mergeParts([a, b, emptyPart()]);
  assert.equal(m.count, whole.count);
  assert.ok(Math.abs(m.mean - whole.mean) < 1e-9);
  assert.ok(Math.abs(m.m2 - whole.m2) < 1e-6);
  assert.equal(m.last, whole.last);
  const totals = windowTotals([a, b], new Date(0));
  const mean = values.reduce((x, y) => x + y, 0) / values.length;
  const sd = Math.sqrt(values.reduce((x, y) => x + (y - mean) ** 2, 0) / values.length);
  assert.ok(Math.abs(totals.avg - mean) < 1e-9);
  assert.ok(Math.abs(totals.stddev - sd) < 1e-9);
  assert.equal(totals.count, 7);
  assert.equal(totals.min, 1001.2);
  assert.equal(totals.max, 1019.9);
});

Deno.test("a window is final only when every part is final", () => {
  const a = emptyPart();
  const b = emptyPart();
  foldValue(a, 1, 0, 0, false);
  foldValue(b, 2, 0, 0, false);
  a.final = true;
  assert.equal(windowTotals([a, b], new Date()).final, false);
  b.final = true;
  assert.equal(windowTotals([a, b], new Date()).final, true);
  assert.equal(windowTotals([], new Date()).final, false);
});

Deno.test("parts survive a store and load round trip, empty ones included", () => {
  const p = emptyPart(41);
  const stored = storablePart(p);
  assert.ok(Number.isFinite(stored.min));
  const back = loadedPart(JSON.parse(JSON.stringify(stored)))!;
  assert.equal(back.offset, 41);
  assert.equal(back.min, Infinity);
  assert.ok(foldValue(back, 3, 5, 42, false));
  assert.equal(back.min, 3);
  assert.equal(loadedPart(undefined), undefined);
});
