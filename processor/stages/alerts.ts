/**
 * Sensor alerts: the one alert lifecycle (`alert_lifecycle.ts`) with a sensor
 * as subject. One open alert per (sensor, rule), updated while the condition
 * holds, resolved after it stayed clear for a hold time; does no I/O.
 */
import type { AlertDoc, AlertRule, Location } from "@iot/shared";
import type { Clock } from "../clock.ts";
import {
  alertId as lifecycleAlertId,
  AlertLifecycle,
  type AlertSubjectSpec,
  type AlertWriteOf,
  type LifecycleEvent,
  processorFields as lifecycleFields,
} from "./alert_lifecycle.ts";

/** The sensor an evaluation is about. */
export interface AlertSubject {
  sensor_id: string;
  sensor_type: string;
  location: Location;
}

/** What the processor writes for an alert: every field except the `acknowledged*` ones the web app owns. */
export type AlertWrite = AlertWriteOf<AlertDoc>;

/** A new or resolved alert, published to the alerts topic. */
export type AlertEvent = LifecycleEvent<AlertWrite>;

/** The `_id` of an alert: `sensor_id|rule|first_seen_ms`. */
export function alertId(sensorId: string, rule: AlertRule, firstSeen: number): string {
  return lifecycleAlertId(sensorId, rule, firstSeen);
}

/** An alert document without the fields the web app owns (`acknowledged*`), which the processor never writes. */
export function processorFields(doc: AlertWrite | AlertDoc): AlertWrite {
  return lifecycleFields<AlertWrite>(doc);
}

/** The sensor subject of the lifecycle. */
export const SENSOR_SUBJECT: AlertSubjectSpec<AlertSubject, AlertWrite> = {
  keyOf: (s) => s.sensor_id,
  keyOfAlert: (d) => d.sensor_id,
  fields: (s) => ({ sensor_id: s.sensor_id, sensor_type: s.sensor_type, location: s.location }),
};

/** Tracks open sensor alerts and collects pending writes and events. */
export class AlertManager extends AlertLifecycle<AlertSubject, AlertWrite> {
  constructor(holdMs: number, now?: Clock) {
    super(SENSOR_SUBJECT, { holdMs, now });
  }
}
