/** `GET /api/windows`: event-time windows, filtered by kind, size, type, location, sensor and update time. */
import type { WindowKind } from "@iot/shared";
import type { ApiHandler } from "../context.ts";
import { ParamError, parseParams } from "../params.ts";

/** Query parameters. */
export const PARAMS = {
  kind: { type: "enum", values: ["type_location", "sensor"], default: "type_location" },
  size: { type: "int", min: 10, max: 60, default: 10 },
  type: { type: "sensorType" },
  location: { type: "location" },
  sensor: { type: "sensorId" },
  since: { type: "time" },
  limit: { type: "int", min: 1, max: 5000, default: 500 },
} as const;

/** Windows, newest first. */
export const GET: ApiHandler = async (ctx) => {
  const p = parseParams(ctx.query, PARAMS);
  if (p.size !== 10 && p.size !== 60) throw new ParamError(`Parameter size must be 10 or 60, got "${p.size}"`);
  const windows = await ctx.data.windows({ ...p, kind: p.kind as WindowKind });
  return { windows, now: Date.now() };
};
