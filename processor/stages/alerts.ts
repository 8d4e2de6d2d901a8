/**
 * Sensor incidents: the one incident engine (`alert_lifecycle.ts`) with a
 * sensor as subject, and the default rule timings that keep random
 * single-reading spikes as events while persistent faults open incidents.
 * Does no I/O.
 */
import type { AlertDoc, Location } from "@iot/shared";
import type { Clock } from "../clock.ts";
import {
  AlertLifecycle,
  type AlertSubjectSpec,
  type AlertWriteOf,
  type LifecycleEvent,
  processorFields as lifecycleFields,
  type RulePolicy,
  type RuleTiming,
} from "./alert_lifecycle.ts";

/** The sensor an evaluation is about. */
export interface AlertSubject {
  sensor_id: string;
  sensor_type: string;
  location: Location;
  /** The `sensor-data` partition the sensor's readings come from. */
  partition?: number;
}

/** What the processor writes for a sensor incident: every field except those the web app and notifier own. */
export type AlertWrite = AlertWriteOf<AlertDoc>;

/** An incident announcement, published to the alerts topic. */
export type AlertEvent = LifecycleEvent<AlertWrite>;

/** A sensor incident without the fields the web app owns (`acknowledged*`), which the processor never writes. */
export function processorFields(doc: AlertWrite | AlertDoc): AlertWrite {
  return lifecycleFields<AlertWrite>(doc);
}

/**
 * Default rule timings of sensor incidents (`PROCESSOR_INCIDENT_RULES` overrides them):
 *
 * - `threshold`, `zscore`, `rate_of_change`: 8 findings among the last 12 readings. A random spike is
 *   one reading (5 % of them by default): 8 of 12 by chance happens about once in 10^10 readings,
 *   while a drifted sensor outside its band does it within a few dozen readings.
 * - `stuck`: at once (the detector already needs 20 identical readings).
 * - `silence`: at once (the detector already waits for the silence limit).
 *
 * Every rule clears after 5 clear readings spanning 10 s; `silence` after 60 s of readings, so that a
 * sensor dropping out again and again keeps one incident.
 */
export const DEFAULT_SENSOR_POLICY: RulePolicy = {
  default: { for: { readings: 8, of: 12 }, clear: { readings: 5, ms: 10_000 } },
  stuck: { for: {}, clear: { readings: 5, ms: 10_000 } },
  silence: { for: {}, clear: { ms: 60_000 } },
};

/** The default policy with `overrides` (per rule: its `for` and/or `clear`) applied. */
export function sensorPolicy(
  overrides: Record<string, Partial<RuleTiming>> = {},
  base: RulePolicy = DEFAULT_SENSOR_POLICY,
): RulePolicy {
  const out: RulePolicy = { ...base };
  for (const [rule, t] of Object.entries(overrides)) {
    const cur = out[rule] ?? out.default;
    out[rule] = { for: t.for ?? cur.for, clear: t.clear ?? cur.clear };
  }
  return out;
}

/** The sensor subject of the engine. */
export const SENSOR_SUBJECT: AlertSubjectSpec<AlertSubject, AlertWrite> = {
  keyOf: (s) => s.sensor_id,
  keyOfAlert: (d) => d.sensor_id,
  fields: (s) => ({
    sensor_id: s.sensor_id,
    sensor_type: s.sensor_type,
    location: s.location,
    ...(s.partition === undefined ? {} : { partition: s.partition }),
  }),
  labels: (d) => ({ sensor_id: d.sensor_id, sensor_type: d.sensor_type, location: d.location }),
};

/** Tracks open sensor incidents and collects pending writes and announcements. */
export class AlertManager extends AlertLifecycle<AlertSubject, AlertWrite> {
  constructor(policy: RulePolicy = DEFAULT_SENSOR_POLICY, now?: Clock) {
    super(SENSOR_SUBJECT, { policy, now });
  }
}
