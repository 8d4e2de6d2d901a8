import assert from "node:assert/strict";
import type { SensorReading } from "@iot/shared";
import { AlertManager } from "./alerts.ts";
import type { Valid } from "./decode.ts";
import { Detection } from "./detect.ts";
import { DEFAULT_DETECTOR_CONFIG } from "./detectors.ts";

function valid(t: number, value: number, offset: number): Valid {
  const reading: SensorReading = {
    sensor_id: "s1",
    sensor_type: "temperature",
    value,
    location: "lab-7",
    timestamp: new Date(t).toISOString(),
  };
  return { reading, eventTime: t, offset, late: false, replay: false, id: `s1:${t}` };
}

Deno.test("detection judges only the readings this write stored, not a duplicate of the same batch", () => {
  const now = 1_000_000;
  const detection = new Detection(new AlertManager(2000, () => now), DEFAULT_DETECTOR_CONFIG);
  const t = Date.UTC(2026, 0, 1);
  // The second record is the same reading (same id) sent again: the insert stored only the first.
  const batch = [valid(t, 21, 0), valid(t, 21, 1), valid(t + 1000, 22, 2)];
  assert.equal(detection.detect(0, batch, [true, false, true], now), 2);
  assert.equal(detection.detect(0, batch, [false, false, false], now), 0, "a replay judges nothing");
});
