/** MongoDB document shapes shared by the processor (writer) and the web app (reader). */
import type { Location } from "./sensors.ts";
import type { ReadingMetadata, ReadingStatus, RejectReason } from "./reading.ts";

/** A raw reading as stored in `sensor_metrics`. */
export interface ReadingDoc {
  /** `readingId`: `sensor_id:event_time_ms`, so a resend or replay cannot insert it twice. */
  _id: string;
  sensor_id: string;
  /** Open: a built-in type or any other (see `describeType`). */
  sensor_type: string;
  location: Location;
  value: number;
  status?: ReadingStatus;
  seq?: number;
  timestamp: Date;
  metadata?: ReadingMetadata;
  /** Top-level fields of the message the contract does not name, kept as sent. */
  extra?: Record<string, unknown>;
  /** When the processor stored it. */
  ingested_at: Date;
}

/** Window grouping: by sensor type and location, or by single sensor. */
export type WindowKind = "type_location" | "sensor";

/** The `_id` of a window document: `kind|group|window_start_ms|size_s`. */
export function windowId(kind: WindowKind, group: string, start: number, sizeMs: number): string {
  return `${windowIdPrefix(kind)}${group}|${start}|${Math.round(sizeMs / 1000)}`;
}

/** What the `_id` of every window of a kind starts with (a feed of one kind matches on it). */
export function windowIdPrefix(kind: WindowKind): string {
  return `${kind}|`;
}

/** An event-time tumbling window as stored in `windowed_metrics`. */
export interface WindowDoc {
  /** `kind|group|window_start_ms|size_s`: one document per window. */
  _id: string;
  kind: WindowKind;
  /** `sensor_type/location` or the sensor id. */
  group: string;
  /** Open: a built-in type or any other (see `describeType`). */
  sensor_type: string;
  location: Location;
  sensor_id?: string;
  window_start: Date;
  window_end: Date;
  size_s: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  avg: number;
  stddev: number;
  /** Value of the reading with the latest event time. */
  last: number;
  first_event_time: Date;
  last_event_time: Date;
  anomalies: number;
  /** True once the watermark passed the window's end. */
  final: boolean;
  updated_at: Date;
}

/** The detection rules. */
export type AlertRule =
  | "threshold"
  | "zscore"
  | "rate_of_change"
  | "stuck"
  | "silence";

/** Alert severity. */
export type Severity = "warning" | "critical";

/**
 * Incident state as the processor writes it: `firing` while open, then
 * `resolved`. The lifecycle an operator sees is open → acknowledged →
 * resolved: an open incident the web app acknowledged (`acknowledged`) is
 * "acknowledged" (see `incidentStatus`).
 */
export type AlertState = "firing" | "resolved";

/** The lifecycle status of an incident: open, acknowledged (by an operator), resolved. */
export type IncidentStatus = "open" | "acknowledged" | "resolved";

/** The status of an incident from its processor state and the web app's acknowledgement. */
export function incidentStatus(doc: { state: AlertState; acknowledged?: boolean }): IncidentStatus {
  return doc.state === "resolved" ? "resolved" : doc.acknowledged ? "acknowledged" : "open";
}

/** One rule of an incident: what it found while it was part of the incident. */
export interface IncidentRule {
  severity: Severity;
  /** Findings of this rule counted in the incident (those that made it fire included). */
  count: number;
  first_seen: Date;
  last_seen: Date;
  value: number;
  threshold: number;
  message: string;
  /** Still firing (false once it stayed clear for its hold). */
  active: boolean;
}

/**
 * The rules of an incident: its `rules`, or, for a document of the per-rule
 * model (one alert per rule, before incidents grouped them), its one rule.
 */
export function incidentRules(
  d:
    & Pick<AlertBase, "rule" | "rules" | "severity" | "count" | "first_seen" | "last_seen" | "value" | "threshold">
    & Pick<AlertBase, "message" | "state">,
): Record<string, IncidentRule> {
  if (d.rules) return d.rules as Record<string, IncidentRule>;
  const { severity, count, first_seen, last_seen, value, threshold, message } = d;
  return {
    [d.rule]: { severity, count, first_seen, last_seen, value, threshold, message, active: d.state === "firing" },
  };
}

/** Webhook delivery of an incident's latest announcement (`ALERT_WEBHOOK_URL`). */
export interface IncidentDelivery {
  /** `pending` while retried, `delivered`, `failed` once the retries ran out, `dropped` when the queue was full. */
  state: "pending" | "delivered" | "failed" | "dropped";
  /** The announcement delivered (or tried): opened, updated, resolved. */
  event: string;
  attempts: number;
  at: Date;
  error?: string;
}

/**
 * The fields every incident shares (sensor incidents in `incidents`, website
 * incidents in `website_alerts`): one open incident per subject groups every
 * rule that fired, firing → resolved. The processor writes every field but
 * the `acknowledged*` ones, which the web app owns, and `delivery`, which the
 * webhook notifier owns.
 */
export interface AlertBase<R extends string = string> {
  /** `subject|opened_ms`: deterministic, so replays update rather than duplicate. */
  _id: string;
  /** The rule that opened the incident (kept for filtering; every rule is in `rules`). */
  type: R;
  rule: R;
  /** The worst severity of its rules. */
  severity: Severity;
  /** Latest finding. */
  value: number;
  threshold: number;
  message: string;
  first_seen: Date;
  last_seen: Date;
  /** Findings of every rule. */
  count: number;
  state: AlertState;
  resolved_at?: Date;
  /** Every rule that fired while the incident was open, by name. */
  rules?: Partial<Record<R, IncidentRule>>;
  /** A silence matched when it was last written: recorded, not announced. */
  silenced?: boolean;
  /** The silence that matched. */
  silence_id?: string;
  /** Announced as opened (on the alerts topic and to the webhook); false while silenced. */
  announced?: boolean;
  delivery?: IncidentDelivery;
  acknowledged: boolean;
  acknowledged_at?: Date;
  acknowledged_by?: string;
  updated_at: Date;
}

/** A sensor incident as stored in `incidents`: the incident fields, subject a sensor. */
export interface AlertDoc extends AlertBase<AlertRule> {
  sensor_id: string;
  /** Open: a built-in type or any other (see `describeType`). */
  sensor_type: string;
  location: Location;
  baseline?: number;
  /** The `sensor-data` partition of the sensor (restored by the partition's owner). */
  partition?: number;
}

/** A sensor incident (the name of `AlertDoc` in the incident model). */
export type IncidentDoc = AlertDoc;

/**
 * An anomaly event as stored in `anomaly_alerts`: one per anomalous reading
 * (whatever the incidents), kept as long as raw readings.
 */
export interface AnomalyEventDoc {
  /** The reading's `_id` (`sensor_id:event_time_ms`): deterministic, so a replay does not duplicate it. */
  _id: string;
  sensor_id: string;
  sensor_type: string;
  location: Location;
  /** The detector that fired first (threshold, zscore, rate_of_change, stuck). */
  alert_type: AlertRule;
  /** Every detector that fired on the reading. */
  detectors: AlertRule[];
  severity: Severity;
  value: number;
  /** The threshold crossed by `alert_type`. */
  threshold: number;
  /** The expected value (band middle, rolling mean, previous value). */
  baseline?: number;
  /** The type's normal band, when described. */
  band?: { min: number; max: number };
  message: string;
  /** Event time of the reading. */
  timestamp: Date;
  created_at: Date;
}

/** What a silence matches: every given field must equal the incident's (`rule`: any of its rules). */
export interface SilenceMatchers {
  sensor_id?: string;
  location?: string;
  sensor_type?: string;
  rule?: string;
  url?: string;
}

/** A silence as stored in `silences`: matching incidents are recorded but not announced until it expires. */
export interface SilenceDoc {
  _id: string;
  matchers: SilenceMatchers;
  reason: string;
  created_by: string;
  created_at: Date;
  expires_at: Date;
}

/** Where a dead letter came from. */
export interface RecordOrigin {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
}

/** A dead letter as kept in `dead_letters` (a short copy; the DLQ topic has the raw bytes). */
export interface DeadLetterDoc {
  /** `topic:partition:offset`. */
  _id: string;
  reason: RejectReason;
  detail: string;
  origin: RecordOrigin;
  /** First bytes of the value as text (lossy), for display. */
  preview: string;
  size: number;
  failed_at: Date;
}

/** Heartbeat and counters a program writes to `pipeline_stats` every few seconds. */
export interface PipelineStatsDoc {
  /** `role:instance`. */
  _id: string;
  role: "producer" | "processor";
  instance: string;
  updated_at: Date;
  started_at: Date;
  /** Messages per second over the last interval. */
  rate: number;
  totals: Record<string, number>;
  /** Consumer lag per partition (processor). */
  lag?: Record<string, number>;
  /** Median end-to-end lag in ms (processor). */
  e2e_lag_ms?: number;
}
