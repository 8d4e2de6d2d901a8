/** Time spent per processing stage: a Prometheus counter plus totals for `stats()`. */
import type { Counter } from "@iot/shared";

/** Accumulates seconds per stage (raw_write, window_load, window_write, ...). */
export class StageTimer {
  readonly #seconds: Record<string, number> = {};

  constructor(readonly counter: Counter) {}

  /** Adds the time since `since` (a `performance.now()` value) to `stage`. */
  add(stage: string, since: number): void {
    const dt = (performance.now() - since) / 1000;
    this.counter.inc(dt, { stage });
    this.#seconds[stage] = (this.#seconds[stage] ?? 0) + dt;
  }

  /** Runs `fn` and adds its duration to `stage`. */
  async time<T>(stage: string, fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      this.add(stage, t);
    }
  }

  /** Seconds per stage, rounded to ms. */
  totals(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.#seconds).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
  }
}
