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

/** Alert lifecycle state. */
export type AlertState = "firing" | "resolved";

/**
 * The lifecycle fields every alert document shares (sensor alerts in
 * `anomaly_alerts`, website alerts in `website_alerts`): one open alert per
 * subject and rule, firing → resolved. The processor writes every field but
 * the `acknowledged*` ones, which the web app owns.
 */
export interface AlertBase<R extends string = string> {
  /** `subject|rule|first_seen_ms`: deterministic, so replays update rather than duplicate. */
  _id: string;
  type: R;
  rule: R;
  severity: Severity;
  value: number;
  threshold: number;
  message: string;
  first_seen: Date;
  last_seen: Date;
  count: number;
  state: AlertState;
  resolved_at?: Date;
  acknowledged: boolean;
  acknowledged_at?: Date;
  acknowledged_by?: string;
  updated_at: Date;
}

/** An alert as stored in `anomaly_alerts`: the lifecycle fields, subject a sensor. */
export interface AlertDoc extends AlertBase<AlertRule> {
  sensor_id: string;
  /** Open: a built-in type or any other (see `describeType`). */
  sensor_type: string;
  location: Location;
  baseline?: number;
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
