/**
 * The processor's heartbeat: the consumption rate smoothed over ~10 s, the
 * median end-to-end lag of the last interval, and the `pipeline_stats`
 * document built from them. Pure parts take the clock as an argument.
 */
import type { PipelineStatsDoc } from "@iot/shared";

/** The reported rate is averaged over this long. */
export const RATE_WINDOW_MS = 10_000;

/** A rate over the last `windowMs` from (time, total) samples. */
export class RateMeter {
  #samples: [number, number][];

  constructor(now: number, readonly windowMs = RATE_WINDOW_MS) {
    this.#samples = [[now, 0]];
  }

  /** Adds a sample of the running `total` at `now` and returns the rate per second. */
  sample(now: number, total: number): number {
    this.#samples.push([now, total]);
    while (this.#samples.length > 2 && now - this.#samples[1][0] >= this.windowMs) this.#samples.shift();
    const [t0, c0] = this.#samples[0];
    return ((total - c0) * 1000) / Math.max(1, now - t0);
  }
}

/** Collects end-to-end lag samples (now minus event time) and reports their median per interval. */
export class LagMedian {
  #samples: number[] = [];
  #last = 0;

  /** Adds one sample, ms. */
  add(ms: number): void {
    this.#samples.push(ms);
  }

  /** The median of the samples since the last call (the previous value when none came). */
  take(): number {
    const s = this.#samples.sort((a, b) => a - b);
    if (s.length) this.#last = s[Math.floor(s.length / 2)];
    this.#samples = [];
    return this.#last;
  }

  /** The last reported median. */
  get value(): number {
    return this.#last;
  }
}

/** The `pipeline_stats` document of a processor instance. */
export function processorStatsDoc(o: {
  instance: string;
  now: number;
  startedAt: Date;
  rate: number;
  totals: Record<string, number>;
  lag: Record<string, number>;
  e2eLagMs: number;
}): Omit<PipelineStatsDoc, "_id"> {
  return {
    role: "processor",
    instance: o.instance,
    updated_at: new Date(o.now),
    started_at: o.startedAt,
    rate: Math.round(o.rate),
    totals: o.totals,
    lag: o.lag,
    e2e_lag_ms: o.e2eLagMs,
  };
}

/**
 * The lag of each owned partition: its high watermark minus the committed
 * offset (0 when none is committed yet), never negative.
 *
 * @example
 * ```ts
 * partitionLag([{ partition: 0, high: "120" }, { partition: 1, high: "9" }], (p) => p === 0, () => 100);
 * // { "0": 20 }
 * ```
 */
export function partitionLag(
  ends: readonly { partition: number; high: string }[],
  owns: (partition: number) => boolean,
  committedOffset: (partition: number) => number | undefined,
): Record<string, number> {
  const lag: Record<string, number> = {};
  for (const o of ends) {
    if (!owns(o.partition)) continue;
    lag[String(o.partition)] = Math.max(0, Number(o.high) - (committedOffset(o.partition) ?? 0));
  }
  return lag;
}
