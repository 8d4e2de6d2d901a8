/**
 * `GET /api/sensors/:id`: a sensor's details (from its stored data), latest
 * readings, windows, incidents and anomaly events; the sensor page loads the
 * same. Any id of the reading contract's pattern is accepted; one with nothing
 * stored is a 404.
 */
import type { SensorDetails } from "../../data.ts";
import { NotFoundError } from "../../http_error.ts";
import type { WireAlert, WireEvent, WireReading, WireWindow } from "../../lib/wire.ts";
import type { ApiHandler, RouteContext } from "../context.ts";
import { ParamError, parseParams, SENSOR_ID_RE, SENSOR_ID_RULE } from "../params.ts";

/** Query parameters. */
export const PARAMS = {
  limit: { type: "int", min: 1, max: 1000, default: 200 },
  since: { type: "time" },
} as const;

/** What a sensor's page and API show. */
export interface SensorView {
  sensor: string;
  /** Type, location, unit and model, read from the latest reading or window. */
  details: SensorDetails;
  readings: WireReading[];
  windows: WireWindow[];
  alerts: WireAlert[];
  events: WireEvent[];
}

/** How much of a sensor to load. */
export interface SensorLoad {
  readings: number;
  since?: Date;
  /** 10 s and 60 s windows. */
  windows10: number;
  windows60: number;
}

/** The sensor id of the path (400 unless it matches the reading contract's `SENSOR_ID_PATTERN`). */
export function sensorIdParam(ctx: RouteContext): string {
  const id = ctx.params.id ?? "";
  if (!SENSOR_ID_RE.test(id)) throw new ParamError(`Sensor id must be ${SENSOR_ID_RULE}`);
  return id;
}

/**
 * Loads a sensor's details, readings (oldest first), windows (10 s then 60 s,
 * newest first), incidents and events; a `NotFoundError` (404) when nothing of
 * it is stored.
 */
export async function loadSensor(ctx: RouteContext, id: string, load: SensorLoad): Promise<SensorView> {
  const details = await ctx.data.sensorDetails(id);
  if (!details) throw new NotFoundError(`No reading or window of sensor ${id} is stored`);
  const [readings, w10, w60, alerts, events] = await Promise.all([
    ctx.data.readings(id, load.readings, load.since),
    ctx.data.windows({ kind: "sensor", size: 10, sensor: id, limit: load.windows10 }),
    ctx.data.windows({ kind: "sensor", size: 60, sensor: id, limit: load.windows60 }),
    ctx.data.alerts({ sensor: id, limit: 50 }),
    ctx.data.events({ sensor: id, limit: 200 }),
  ]);
  return { sensor: id, details, readings, windows: [...w10, ...w60], alerts, events };
}

/** The sensor. */
export const GET: ApiHandler = async (ctx) => {
  const id = sensorIdParam(ctx);
  const p = parseParams(ctx.query, PARAMS);
  const view = await loadSensor(ctx, id, { readings: p.limit, since: p.since, windows10: 30, windows60: 10 });
  return { ...view, now: Date.now() };
};
