/**
 * What the browser receives (API responses, WebSocket frames, island props):
 * the MongoDB documents of `shared/documents.ts` with dates as epoch milliseconds.
 * Browser-safe: type-only imports from shared, but for two pure functions of `shared/documents.ts`.
 */
import type {
  AlertBase,
  AlertDoc,
  AlertRule,
  AlertState,
  AnomalyEventDoc,
  DeadLetterDoc,
  IncidentDelivery,
  IncidentStatus,
  PipelineStatsDoc,
  ReadingDoc,
  Severity,
  SilenceDoc,
  SilenceMatchers,
  WindowDoc,
  WindowKind,
} from "../../shared/documents.ts";
import { incidentRules, incidentStatus } from "../../shared/documents.ts";

/** A window as sent to the browser. */
export interface WireWindow {
  id: string;
  kind: WindowKind;
  group: string;
  sensor_type: string;
  location: string;
  sensor_id?: string;
  size_s: number;
  start: number;
  avg: number;
  min: number;
  max: number;
  count: number;
  final: boolean;
  updated: number;
}

/** The lifecycle fields every alert has on the wire, sensor or website. */
export interface WireAlertLifecycle {
  id: string;
  severity: Severity;
  value: number;
  threshold: number;
  message: string;
  first_seen: number;
  last_seen: number;
  count: number;
  state: AlertState;
  resolved_at?: number;
  acknowledged: boolean;
  acknowledged_at?: number;
  acknowledged_by?: string;
  updated: number;
  /** open, acknowledged or resolved. */
  status: IncidentStatus;
  /** Every rule that fired in the incident. */
  rules: Record<string, WireIncidentRule>;
  silenced: boolean;
  silence_id?: string;
  delivery?: { state: IncidentDelivery["state"]; event: string; attempts: number; at: number; error?: string };
}

/** One rule of an incident on the wire. */
export interface WireIncidentRule {
  severity: Severity;
  count: number;
  first_seen: number;
  last_seen: number;
  value: number;
  threshold: number;
  message: string;
  active: boolean;
}

/** An anomaly event as sent to the browser. */
export interface WireEvent {
  id: string;
  sensor_id: string;
  sensor_type: string;
  location: string;
  alert_type: string;
  detectors: string[];
  severity: Severity;
  value: number;
  threshold: number;
  baseline?: number;
  band?: { min: number; max: number };
  message: string;
  timestamp: number;
}

/** A silence as sent to the browser. */
export interface WireSilence {
  id: string;
  matchers: SilenceMatchers;
  reason: string;
  created_by: string;
  created_at: number;
  expires_at: number;
}

/** An alert as sent to the browser. */
export interface WireAlert extends WireAlertLifecycle {
  rule: AlertRule;
  sensor_id: string;
  sensor_type: string;
  location: string;
}

/** A program heartbeat as sent to the browser. */
export interface WireStats {
  id: string;
  role: string;
  instance: string;
  updated: number;
  rate: number;
  totals: Record<string, number>;
  lag?: Record<string, number>;
  e2e_lag_ms?: number;
}

/** A dead letter as sent to the browser. */
export interface WireDeadLetter {
  id: string;
  reason: string;
  detail: string;
  topic: string;
  partition: number;
  offset: string;
  preview: string;
  size: number;
  failed_at: number;
}

/** A raw reading as sent to the browser. */
export interface WireReading {
  id: string;
  value: number;
  status: string;
  t: number;
}

/** Live mode of one collection's feed. */
export type LiveMode = "change-stream" | "polling" | "starting";

/** A server → browser WebSocket frame. */
export type Frame =
  | { t: "hello"; modes: Record<string, LiveMode>; now: number }
  | { t: "mode"; modes: Record<string, LiveMode> }
  | {
    t: "batch";
    windows?: WireWindow[];
    alerts?: WireAlert[];
    stats?: WireStats[];
    deadLetters?: WireDeadLetter[];
  }
  /** Too much was pending for a slow client: fetch a fresh snapshot over HTTP. */
  | { t: "resync" };

/** A browser → server subscription message. */
export interface Subscription {
  t: "sub";
  types?: string[];
  locations?: string[];
  sensor?: string;
  /** Window kind/size of interest (default type_location/10). */
  kind?: WindowKind;
  size?: number;
}

/** A stored time as epoch milliseconds (undefined stays undefined). */
export const ms = (d: Date | string | number | undefined): number | undefined =>
  d === undefined || d === null ? undefined : new Date(d).getTime();

/** Converts a window document. */
export function toWireWindow(d: WindowDoc): WireWindow {
  const w: WireWindow = {
    id: String(d._id),
    kind: d.kind,
    group: d.group,
    sensor_type: d.sensor_type,
    location: d.location,
    size_s: d.size_s,
    start: ms(d.window_start) ?? 0,
    avg: d.avg,
    min: d.min,
    max: d.max,
    count: d.count,
    final: Boolean(d.final),
    updated: ms(d.updated_at) ?? 0,
  };
  if (d.sensor_id) w.sensor_id = d.sensor_id;
  return w;
}

/** The lifecycle fields of an alert document, as `AlertDoc` and `WebsiteAlertDoc` both store them. */
export type AlertLifecycleDoc = Pick<
  AlertBase,
  | "_id"
  | "rule"
  | "rules"
  | "silenced"
  | "silence_id"
  | "delivery"
  | "severity"
  | "value"
  | "threshold"
  | "message"
  | "first_seen"
  | "last_seen"
  | "count"
  | "state"
  | "resolved_at"
  | "acknowledged"
  | "acknowledged_at"
  | "acknowledged_by"
  | "updated_at"
>;

/** Converts the lifecycle fields of an alert document (sensor or website). */
export function toWireLifecycle(d: AlertLifecycleDoc): WireAlertLifecycle {
  const a: WireAlertLifecycle = {
    id: String(d._id),
    severity: d.severity,
    value: d.value,
    threshold: d.threshold,
    message: d.message,
    first_seen: ms(d.first_seen) ?? 0,
    last_seen: ms(d.last_seen) ?? 0,
    count: d.count,
    state: d.state,
    acknowledged: d.acknowledged === true,
    updated: ms(d.updated_at) ?? 0,
    status: incidentStatus(d),
    rules: toWireRules(d),
    silenced: d.silenced === true,
  };
  if (d.resolved_at) a.resolved_at = ms(d.resolved_at);
  if (d.acknowledged_at) a.acknowledged_at = ms(d.acknowledged_at);
  if (d.acknowledged_by) a.acknowledged_by = d.acknowledged_by;
  if (d.silence_id) a.silence_id = d.silence_id;
  if (d.delivery) a.delivery = { ...d.delivery, at: ms(d.delivery.at) ?? 0 };
  return a;
}

function toWireRules(d: AlertLifecycleDoc): Record<string, WireIncidentRule> {
  return Object.fromEntries(
    Object.entries(incidentRules(d)).map(([k, r]) => [k, {
      ...r,
      first_seen: ms(r.first_seen) ?? 0,
      last_seen: ms(r.last_seen) ?? 0,
    }]),
  );
}

/** Converts an anomaly event document. */
export function toWireEvent(d: AnomalyEventDoc): WireEvent {
  const e: WireEvent = {
    id: String(d._id),
    sensor_id: d.sensor_id,
    sensor_type: d.sensor_type,
    location: d.location,
    alert_type: d.alert_type,
    detectors: d.detectors ?? [d.alert_type],
    severity: d.severity,
    value: d.value,
    threshold: d.threshold,
    message: d.message,
    timestamp: ms(d.timestamp) ?? 0,
  };
  if (typeof d.baseline === "number") e.baseline = d.baseline;
  if (d.band) e.band = d.band;
  return e;
}

/** Converts a silence document. */
export function toWireSilence(d: SilenceDoc): WireSilence {
  return {
    id: String(d._id),
    matchers: d.matchers,
    reason: d.reason,
    created_by: d.created_by,
    created_at: ms(d.created_at) ?? 0,
    expires_at: ms(d.expires_at) ?? 0,
  };
}

/** Converts an alert document. */
export function toWireAlert(d: AlertDoc): WireAlert {
  return {
    ...toWireLifecycle(d),
    rule: d.rule ?? d.type,
    sensor_id: d.sensor_id,
    sensor_type: d.sensor_type,
    location: d.location,
  };
}

/** Converts a heartbeat document. */
export function toWireStats(d: PipelineStatsDoc): WireStats {
  const s: WireStats = {
    id: String(d._id),
    role: d.role,
    instance: d.instance,
    updated: ms(d.updated_at) ?? 0,
    rate: d.rate,
    totals: d.totals ?? {},
  };
  if (d.lag) s.lag = d.lag;
  if (typeof d.e2e_lag_ms === "number") s.e2e_lag_ms = d.e2e_lag_ms;
  return s;
}

/** Converts a dead-letter document. */
export function toWireDeadLetter(d: DeadLetterDoc): WireDeadLetter {
  return {
    id: String(d._id),
    reason: d.reason,
    detail: d.detail,
    topic: d.origin?.topic ?? "",
    partition: d.origin?.partition ?? -1,
    offset: d.origin?.offset ?? "",
    preview: d.preview ?? "",
    size: d.size ?? 0,
    failed_at: ms(d.failed_at) ?? 0,
  };
}

/** Converts a reading document. */
export function toWireReading(d: ReadingDoc): WireReading {
  return { id: String(d._id), value: d.value, status: d.status ?? "", t: ms(d.timestamp) ?? 0 };
}
