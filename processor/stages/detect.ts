/**
 * The detection stage: per-sensor detector state, the rules run on readings
 * stored for the first time, and the silence rule run by a timer. Feeds the
 * sensor alert lifecycle; pure (wall-clock times are passed in).
 */
import { BUILTIN_SENSOR_TYPES, type SensorTypes } from "@iot/shared";
import type { Valid } from "./decode.ts";
import type { AlertManager, AlertSubject } from "./alerts.ts";
import {
  checkReading,
  checkSilence,
  checkThreshold,
  type DetectorConfig,
  newSensorState,
  type SensorState,
} from "./detectors.ts";

interface SensorEntry {
  state: SensorState;
  subject: AlertSubject;
  partition: number;
  /** Wall-clock time of the sensor's last reading, epoch ms. */
  lastWall: number;
}

/** Detector state of the sensors of the partitions this instance owns. */
export class Detection {
  readonly #sensors = new Map<string, SensorEntry>();

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
          subject: { sensor_id: r.sensor_id, sensor_type: r.sensor_type, location: r.location },
          partition,
          lastWall: wall,
        };
        this.#sensors.set(r.sensor_id, s);
      }
      s.lastWall = wall;
      s.partition = partition;
      this.alerts.evaluate(s.subject, "silence", undefined, wall);
      if (v.late || !stored[i]) continue;
      checked++;
      const t = v.eventTime;
      this.alerts.evaluate(s.subject, "threshold", checkThreshold(r.sensor_type, r.value, this.config, this.types), t);
      const found = checkReading(s.state, r.value, t, this.config);
      for (const rule of ["zscore", "rate_of_change", "stuck"] as const) {
        this.alerts.evaluate(s.subject, rule, found.find((f) => f.rule === rule), t);
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
        checkSilence(s.subject.sensor_type, now - s.lastWall, this.config),
        now,
      );
    }
  }

  /** Forgets the sensors of partitions not in `kept`. */
  retain(kept: ReadonlySet<number>): void {
    for (const [id, s] of this.#sensors) if (!kept.has(s.partition)) this.#sensors.delete(id);
  }
}
