/**
 * `GET /api/events`: anomaly events (one per anomalous reading), newest
 * first, by sensor, type, location, detector and event time.
 */
import type { ApiHandler } from "../context.ts";
import { DETECTORS, ParamError, parseParams } from "../params.ts";

/** Query parameters. */
export const PARAMS = {
  sensor: { type: "sensorId" },
  type: { type: "sensorType" },
  location: { type: "location" },
  detector: { type: "enum", values: DETECTORS },
  since: { type: "time" },
  until: { type: "time" },
  limit: { type: "int", min: 1, max: 1000, default: 200 },
} as const;

/** Events, newest first. */
export const GET: ApiHandler = async (ctx) => {
  const p = parseParams(ctx.query, PARAMS);
  if (p.since && p.until && p.until < p.since) throw new ParamError("Parameter until must not be before since");
  const events = await ctx.data.events(p);
  return { events, now: Date.now() };
};
