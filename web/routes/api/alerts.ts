/**
 * `GET /api/incidents` (and its former name `GET /api/alerts`): sensor
 * incidents (and, with `source`, website incidents), filtered by state,
 * severity, acknowledgement, rule, subject and update time, most recently seen
 * first. Every incident carries its `source`.
 */
import type { ApiHandler } from "../context.ts";
import { INCIDENT_RULES, ParamError, parseParams } from "../params.ts";

/** Query parameters. */
export const PARAMS = {
  source: { type: "enum", values: ["sensors", "websites", "all"], default: "sensors" },
  state: { type: "enum", values: ["firing", "resolved"] },
  unresolved: { type: "bool" },
  severity: { type: "enum", values: ["warning", "critical"] },
  acknowledged: { type: "bool" },
  rule: { type: "enum", values: INCIDENT_RULES },
  type: { type: "sensorType" },
  location: { type: "location" },
  sensor: { type: "sensorId" },
  since: { type: "time" },
  limit: { type: "int", min: 1, max: 500, default: 100 },
} as const;

/** Alerts, most recently seen first. */
export const GET: ApiHandler = async (ctx) => {
  const p = parseParams(ctx.query, PARAMS);
  const fromUnresolved = p.unresolved === undefined ? undefined : p.unresolved ? "firing" : "resolved";
  if (p.state && fromUnresolved && p.state !== fromUnresolved) {
    throw new ParamError(`Parameters state=${p.state} and unresolved=${p.unresolved} contradict each other`);
  }
  if (p.source !== "sensors" && (p.type || p.location || p.sensor)) {
    throw new ParamError("Parameters type, location and sensor apply to source=sensors only");
  }
  const q = {
    state: (p.state ?? fromUnresolved) as "firing" | "resolved" | undefined,
    severity: p.severity as "warning" | "critical" | undefined,
    acknowledged: p.acknowledged,
    rule: p.rule,
    since: p.since,
    limit: p.limit,
  };
  const [sensors, websites] = await Promise.all([
    p.source === "websites" ? [] : ctx.data.alerts({ ...q, type: p.type, location: p.location, sensor: p.sensor }),
    p.source === "sensors" ? [] : ctx.websites.alerts(q),
  ]);
  const alerts = [
    ...sensors.map((a) => ({ ...a, source: "sensors" as const })),
    ...websites.map((a) => ({ ...a, source: "websites" as const })),
  ].sort((a, b) => b.last_seen - a.last_seen).slice(0, p.limit);
  return { alerts, incidents: alerts, now: Date.now() };
};
