/** The sensor fleet's fixed facts: types, units, ranges and locations. */

/** The six built-in sensor types (the simulated fleet's); more are open, see `sensor_types.ts`. */
export const SENSOR_TYPES = [
  "temperature",
  "humidity",
  "pressure",
  "vibration",
  "voltage",
  "current",
] as const;

/** A built-in sensor type. A reading's `sensor_type` is any string: narrow it with `isSensorType`. */
export type SensorType = typeof SENSOR_TYPES[number];

/** A location name. Locations are open: any name the contract accepts; `LOCATIONS` are the simulated fleet's. */
export type Location = string;

/** The twelve locations of the simulated fleet. */
export const LOCATIONS: readonly Location[] = [
  "factory-floor-a1",
  "factory-floor-a2",
  "factory-floor-b1",
  "warehouse-north",
  "warehouse-south",
  "warehouse-east",
  "office-main",
  "office-server-room",
  "office-lab",
  "outdoor-gate",
  "outdoor-roof",
  "outdoor-parking",
];

/** Physical limits and normal operating band of one sensor type. */
export interface SensorRange {
  /** Unit symbol, e.g. "°C". */
  readonly unit: string;
  /** Lowest physically possible value. */
  readonly min: number;
  /** Highest physically possible value. */
  readonly max: number;
  /** Lower edge of the normal band. */
  readonly normalMin: number;
  /** Upper edge of the normal band. */
  readonly normalMax: number;
}

/** Ranges per sensor type. */
export const SENSOR_RANGES: Readonly<Record<SensorType, SensorRange>> = {
  temperature: { unit: "°C", min: -20, max: 50, normalMin: 15, normalMax: 25 },
  humidity: { unit: "%", min: 0, max: 100, normalMin: 40, normalMax: 60 },
  pressure: { unit: "hPa", min: 950, max: 1050, normalMin: 1000, normalMax: 1020 },
  vibration: { unit: "g", min: 0, max: 10, normalMin: 0.1, normalMax: 1 },
  voltage: { unit: "V", min: 200, max: 250, normalMin: 220, normalMax: 230 },
  current: { unit: "A", min: 0, max: 20, normalMin: 1, normalMax: 5 },
};

/** Sensor hardware models per type (metadata only). */
export const SENSOR_MODELS: Readonly<Record<SensorType, readonly string[]>> = {
  temperature: ["TMP117", "DS18B20", "PT100"],
  humidity: ["SHT45", "HIH6130"],
  pressure: ["BMP390", "MS5611"],
  vibration: ["ADXL355", "IIS3DWB"],
  voltage: ["INA228", "ACS37800"],
  current: ["INA228", "ACS712"],
};

/** Static description of one sensor, derived from its id. */
export interface SensorProfile {
  readonly sensorId: string;
  readonly index: number;
  readonly sensorType: SensorType;
  readonly location: Location;
  readonly model: string;
  readonly unit: string;
}

const SENSOR_ID_RE = /^sensor_(\d{4,})$/;

/** Formats the id of sensor number `index` (1-based): `sensor_0001`. */
export function sensorId(index: number): string {
  return `sensor_${String(index).padStart(4, "0")}`;
}

/** Returns the number in a sensor id, or undefined when it is not of the form `sensor_NNNN`. */
export function sensorIndex(id: string): number | undefined {
  const m = SENSOR_ID_RE.exec(id);
  return m ? Number(m[1]) : undefined;
}

/**
 * Derives type, location and model from a sensor id, deterministically:
 * the type cycles with the index, the location cycles with index / 6 so that
 * each location gets every type.
 */
export function sensorProfile(id: string): SensorProfile {
  const index = sensorIndex(id);
  if (index === undefined) {
    throw new RangeError(`Invalid sensor id "${id}": expected sensor_NNNN`);
  }
  const i = index - 1;
  const sensorType = SENSOR_TYPES[((i % 6) + 6) % 6];
  const location = LOCATIONS[Math.floor(i / 6) % LOCATIONS.length];
  const models = SENSOR_MODELS[sensorType];
  return {
    sensorId: id,
    index,
    sensorType,
    location,
    model: models[Math.floor(i / 72) % models.length],
    unit: SENSOR_RANGES[sensorType].unit,
  };
}

/** Whether a string is one of the six built-in sensor types. */
export function isSensorType(value: unknown): value is SensorType {
  return typeof value === "string" && (SENSOR_TYPES as readonly string[]).includes(value);
}

/** Whether a string is one of the simulated fleet's twelve locations. */
export function isLocation(value: unknown): value is Location {
  return typeof value === "string" && (LOCATIONS as readonly string[]).includes(value);
}
