/**
 * The sequence stage: where a reading carries `seq`, it is tracked per sensor
 * with the shared `SeqTracker` (gaps, reorders, repeats, sender restarts).
 * It only observes and counts: `seq` is not identity and never gates storage.
 * Bounded: sensors of revoked partitions and sensors quiet for `forgetAfterMs`
 * (wall clock, injected) are forgotten.
 */
import { SeqTracker } from "@iot/shared";
import type { Clock } from "../clock.ts";
import type { Valid } from "./decode.ts";

/** Counts of sequence events: readings by kind, and the `seq` numbers skipped by gaps. */
export interface SeqCounts {
  /** Readings ahead of the next expected `seq`. */
  gap: number;
  /** `seq` numbers skipped by those gaps (a later reorder may still deliver some). */
  missing: number;
  /** Readings behind the highest `seq` seen (out of order). */
  reorder: number;
  /** Readings with the highest `seq` seen again (a resend). */
  repeat: number;
  /** Readings whose `seq` went back to 0 or far behind: the sender restarted its counter. */
  restart: number;
}

/** The kinds of sequence event counted per reading (`missing` is a count of numbers, not of readings). */
export const SEQ_EVENT_KINDS = ["gap", "reorder", "repeat", "restart"] as const;

/** Options of `SequenceStage`. */
export interface SequenceStageOptions {
  /** Wall clock, epoch ms. */
  clock: Clock;
  /** A sensor with no reading for this long is forgotten; its next `seq` counts as a first (default 1 h). */
  forgetAfterMs?: number;
  /** See `SeqTrackerOptions.reorderWindow`. */
  reorderWindow?: number;
}

interface SensorSeen {
  partition: number;
  lastWall: number;
}

/** Creates empty counts. */
export function emptySeqCounts(): SeqCounts {
  return { gap: 0, missing: 0, reorder: 0, repeat: 0, restart: 0 };
}

/**
 * Per-sensor sequence tracking of the partitions this instance owns.
 *
 * @example
 * ```ts
 * const stage = new SequenceStage({ clock: Date.now });
 * const counts = stage.observe(0, decoded.valid); // { gap, missing, reorder, repeat, restart } of this batch
 * ```
 */
export class SequenceStage {
  readonly #tracker: SeqTracker;
  readonly #seen = new Map<string, SensorSeen>();
  readonly #clock: Clock;
  readonly #forgetAfterMs: number;
  readonly #totals = emptySeqCounts();
  #lastSweep: number;

  constructor(options: SequenceStageOptions) {
    this.#clock = options.clock;
    this.#forgetAfterMs = options.forgetAfterMs ?? 3_600_000;
    this.#tracker = new SeqTracker({ reorderWindow: options.reorderWindow });
    this.#lastSweep = this.#clock();
  }

  /**
   * Observes the `seq` of a batch's readings of `partition`, in offset order.
   * Records fetched again (`replay`) are skipped: they are not new deliveries.
   * Returns this batch's counts (also added to the totals).
   */
  observe(partition: number, valid: readonly Valid[]): SeqCounts {
    const now = this.#clock();
    if (now - this.#lastSweep >= this.#forgetAfterMs) this.#sweep(now);
    const c = emptySeqCounts();
    for (const v of valid) {
      const seq = v.reading.seq;
      if (seq === undefined || v.replay) continue;
      const id = v.reading.sensor_id;
      this.#seen.set(id, { partition, lastWall: now });
      const o = this.#tracker.observe(id, seq);
      if (o.kind === "gap") {
        c.gap++;
        c.missing += o.missing;
      } else if (o.kind === "reorder") c.reorder++;
      else if (o.kind === "repeat") c.repeat++;
      else if (o.kind === "restart") c.restart++;
    }
    for (const k of Object.keys(c) as (keyof SeqCounts)[]) this.#totals[k] += c[k];
    return c;
  }

  /** Forgets the sensors of partitions not in `kept` (a rebalance or a rewind). */
  retain(kept: ReadonlySet<number>): void {
    for (const [id, s] of this.#seen) {
      if (kept.has(s.partition)) continue;
      this.#seen.delete(id);
      this.#tracker.forget(id);
    }
  }

  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [id, s] of this.#seen) {
      if (now - s.lastWall < this.#forgetAfterMs) continue;
      this.#seen.delete(id);
      this.#tracker.forget(id);
    }
  }

  /** Sensors tracked. */
  get size(): number {
    return this.#seen.size;
  }

  /** Counts since the stage was made. */
  totals(): SeqCounts {
    return { ...this.#totals };
  }
}
