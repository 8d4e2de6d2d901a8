/**
 * The detection stage: per-sensor detector state, the rules run on readings
 * stored for the first time, and the silence rule run by a timer. Every
 * anomalous reading becomes one anomaly event; every evaluation feeds the
 * sensor incident engine. Pure (wall-clock times are passed in).
 */
import { type AnomalyEventDoc, BUILTIN_SENSOR_TYPES, describeType, type SensorTypes } from "@iot/shared";
import type { Valid } from "./decode.ts";
import type { AlertManager, AlertSubject } from "./alerts.ts";
import {
  checkReading,
  checkSilence,
  checkThreshold,
  type DetectorConfig,
  type Finding,
  newSensorState,
  type SensorState,
} from "./detectors.ts";

interface SensorEntry {
  state: SensorState;
  subject: AlertSubject;
  partition: number;
  /** Wall-clock time of the sensor's last reading, epoch ms. */
  lastWall: number;
  /** Smoothed wall-clock interval between its readings, ms (undefined until two readings). */
  intervalMs?: number;
}

/** The reading rules, in the order an event names its first detector. */
export const READING_RULES = ["threshold", "zscore", "rate_of_change", "stuck"] as const;

/** Smoothing of the reading interval estimate. */
const INTERVAL_ALPHA = 0.1;

/**
 * The anomaly event of a reading the detectors flagged (`findings` non-empty,
 * in `READING_RULES` order). Its `_id` is the reading's (one event per reading).
 */
export function anomalyEvent(
  readingId: string,
  subject: AlertSubject,
  findings: readonly Finding[],
  eventTime: number,
  createdAt: number,
  types: SensorTypes = BUILTIN_SENSOR_TYPES,
): AnomalyEventDoc {
  const first = findings[0];
  const severity = findings.some((f) => f.severity === "critical") ? "critical" : "warning";
  const band = describeType(subject.sensor_type, types)?.band;
  return {
    _id: readingId,
    sensor_id: subject.sensor_id,
    sensor_type: subject.sensor_type,
    location: subject.location,
    alert_type: first.rule,
    detectors: findings.map((f) => f.rule),
    severity,
    value: first.value,
    threshold: first.threshold,
    baseline: first.baseline,
    ...(band ? { band: { min: band.min, max: band.max } } : {}),
    message: findings.map((f) => f.message).join("; "),
    timestamp: new Date(eventTime),
    created_at: new Date(createdAt),
  };
}

/** Detector state of the sensors of the partitions this instance owns. */
export class Detection {
  readonly #sensors = new Map<string, SensorEntry>();
  #events: AnomalyEventDoc[] = [];

  constructor(
    readonly alerts: AlertManager,
    readonly config: DetectorConfig,
    readonly types: SensorTypes = BUILTIN_SENSOR_TYPES,
  ) {}

  /**
   * Runs the detectors on a batch's readings once its raw writes are
   * acknowledged, at wall-clock `wall`. Only readings this write stored
   * (`stored[i]`, per reading, as `RawSink.write` reports) are judged: a replay
   * or a duplicate, also one of the same batch, neither double-counts nor re-fires.
   * Returns how many readings the rules judged.
   */
  detect(partition: number, valid: readonly Valid[], stored: readonly boolean[], wall: number): number {
    let checked = 0;
    for (let i = 0; i < valid.length; i++) {
      const v = valid[i];
      const r = v.reading;
      let s = this.#sensors.get(r.sensor_id);
      if (!s) {
        s = {
          state: newSensorState(r.sensor_type, this.types),
          subject: { sensor_id: r.sensor_id, sensor_type: r.sensor_type, location: r.location, partition },
          partition,
          lastWall: wall,
        };
        this.#sensors.set(r.sensor_id, s);
      } else if (wall > s.lastWall) {
        const dt = wall - s.lastWall;
        s.intervalMs = s.intervalMs === undefined ? dt : s.intervalMs + INTERVAL_ALPHA * (dt - s.intervalMs);
      }
      s.lastWall = wall;
      s.partition = partition;
      s.subject.partition = partition;
      this.alerts.evaluate(s.subject, "silence", undefined, wall);
      if (v.late || !stored[i]) continue;
      checked++;
      const t = v.eventTime;
      const threshold = checkThreshold(r.sensor_type, r.value, this.config, this.types);
      const found = [...(threshold ? [threshold] : []), ...checkReading(s.state, r.value, t, this.config)];
      for (const rule of READING_RULES) this.alerts.evaluate(s.subject, rule, found.find((f) => f.rule === rule), t);
      if (found.length) {
        const ordered = READING_RULES.map((rule) => found.find((f) => f.rule === rule)).filter((f) => f !== undefined);
        this.#events.push(anomalyEvent(v.id, s.subject, ordered, t, wall, this.types));
      }
    }
    return checked;
  }

  /** Evaluates the silence rule of every sensor of an owned partition at wall-clock `now`. */
  checkSilence(now: number, owned: (partition: number) => boolean): void {
    for (const s of this.#sensors.values()) {
      if (!owned(s.partition)) continue;
      this.alerts.evaluate(
        s.subject,
        "silence",
        checkSilence(s.subject.sensor_type, now - s.lastWall, this.config, s.intervalMs),
        now,
      );
    }
  }

  /** Takes the anomaly events detected since the last call. */
  takeEvents(): AnomalyEventDoc[] {
    const out = this.#events;
    this.#events = [];
    return out;
  }

  /** Puts events back after a failed write. */
  restoreEvents(events: AnomalyEventDoc[]): void {
    this.#events = [...events, ...this.#events];
  }

  /** Number of sensors tracked. */
  get size(): number {
    return this.#sensors.size;
  }

  /** Forgets the sensors of partitions not in `kept` (their detected events are still written). */
  retain(kept: ReadonlySet<number>): void {
    for (const [id, s] of this.#sensors) if (!kept.has(s.partition)) this.#sensors.delete(id);
  }
}
