/** Test helpers of the window stages: decoded readings without Kafka. */
import { sensorProfile, type SensorReading } from "@iot/shared";
import type { Valid } from "./decode.ts";

/** A fixed, minute-aligned event time (epoch ms). */
export const T = Date.UTC(2026, 0, 1, 0, 0, 0);

/**
 * A valid reading of `sensor` at offset `offset`, event time `T + offset`,
 * with the type and location of `profileOf` (default: the sensor's own).
 */
export function testValid(sensor: string, offset: number, value = 1, profileOf = sensor): Valid {
  const p = sensorProfile(profileOf);
  const reading: SensorReading = {
    sensor_id: sensor,
    sensor_type: p.sensorType,
    value,
    location: p.location,
    timestamp: new Date(T + offset).toISOString(),
    status: "normal",
    metadata: { unit: p.unit, sensor_model: p.model, battery_level: 90 },
  };
  return { reading, eventTime: T + offset, offset, late: false, replay: false, id: `${sensor}:${T + offset}` };
}
