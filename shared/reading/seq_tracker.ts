/**
 * Per-sensor sequence tracking: `seq` is optional in the contract and is not
 * part of a reading's identity; where a sender gives it, it tells gaps
 * (readings that never arrived), reorders and sender restarts. Pure and
 * bounded by the number of sensors.
 */

/** What one observed `seq` says about its sensor's stream. */
export type SeqObservation =
  /** The sensor's first `seq`. */
  | { kind: "first" }
  /** The next one. */
  | { kind: "next" }
  /** Ahead of the next one: `missing` numbers were skipped (maybe still to come, reordered). */
  | { kind: "gap"; missing: number }
  /** Behind the highest seen: arrived out of order (or a resend of an older one). */
  | { kind: "reorder"; behind: number }
  /** Equal to the highest seen: the same reading again. */
  | { kind: "repeat" }
  /** Back at 0, or far behind: the sender restarted its counter; tracking starts again from here. */
  | { kind: "restart"; previous: number };

/** Options of a `SeqTracker`. */
export interface SeqTrackerOptions {
  /**
   * How far behind the highest `seq` a number still counts as reordered rather
   * than as a restart (default 1000). A `seq` of 0 after a higher one is always a restart.
   */
  reorderWindow?: number;
}

/** Counts over every sensor since the tracker was made. */
export interface SeqTotals {
  /** `seq` numbers skipped (a later reorder may deliver some of them). */
  missing: number;
  reorders: number;
  repeats: number;
  restarts: number;
}

/**
 * Tracks the highest `seq` per sensor and classifies each new one.
 *
 * @example
 * ```ts
 * const t = new SeqTracker();
 * t.observe("s1", 0); // { kind: "first" }
 * t.observe("s1", 3); // { kind: "gap", missing: 2 }
 * t.observe("s1", 1); // { kind: "reorder", behind: 2 }
 * t.observe("s1", 0); // { kind: "restart", previous: 3 }
 * ```
 */
export class SeqTracker {
  readonly #highest = new Map<string, number>();
  readonly #window: number;
  readonly #totals: SeqTotals = { missing: 0, reorders: 0, repeats: 0, restarts: 0 };

  constructor(options: SeqTrackerOptions = {}) {
    this.#window = options.reorderWindow ?? 1000;
  }

  /** Classifies `seq` (a non-negative integer) of `sensorId` and updates the sensor's state. */
  observe(sensorId: string, seq: number): SeqObservation {
    const high = this.#highest.get(sensorId);
    if (high === undefined) {
      this.#highest.set(sensorId, seq);
      return { kind: "first" };
    }
    if (seq === high + 1) {
      this.#highest.set(sensorId, seq);
      return { kind: "next" };
    }
    if (seq > high) {
      this.#highest.set(sensorId, seq);
      const missing = seq - high - 1;
      this.#totals.missing += missing;
      return { kind: "gap", missing };
    }
    if (seq === high) {
      this.#totals.repeats++;
      return { kind: "repeat" };
    }
    if (seq === 0 || high - seq > this.#window) {
      this.#highest.set(sensorId, seq);
      this.#totals.restarts++;
      return { kind: "restart", previous: high };
    }
    this.#totals.reorders++;
    return { kind: "reorder", behind: high - seq };
  }

  /** The highest `seq` seen of a sensor (since its last restart). */
  highest(sensorId: string): number | undefined {
    return this.#highest.get(sensorId);
  }

  /** Forgets a sensor (e.g. one whose partition moved to another processor). */
  forget(sensorId: string): void {
    this.#highest.delete(sensorId);
  }

  /** Number of sensors tracked. */
  get size(): number {
    return this.#highest.size;
  }

  /** Counts since the tracker was made. */
  totals(): SeqTotals {
    return { ...this.#totals };
  }
}
