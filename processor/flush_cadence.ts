/**
 * When the processor flushes. Two cadences:
 *
 * - **full** every `fullMs` (`PROCESSOR_FLUSH_MS`): waits for the background
 *   writes, writes every dirty window and the alerts, then commits. The only
 *   flush that commits.
 * - **live** every `liveMs` (`PROCESSOR_LIVE_FLUSH_MS`) in between: writes only
 *   the windows the dashboard shows live (per type × location, a few dozen
 *   documents) and commits nothing, so it never makes a batch committable.
 *
 * A full flush also writes the live windows, so it restarts both cadences.
 * While the previous full flush is still writing (`fullBusy`), the next one
 * is not due, and the live cadence goes on.
 * `liveMs` 0 (or not below `fullMs`) turns the live cadence off.
 */
import type { Clock } from "./clock.ts";

/** A flush to run now. */
export type FlushKind = "full" | "live";

/** Options of `FlushCadence`. */
export interface FlushCadenceOptions {
  fullMs: number;
  /** 0: off. */
  liveMs: number;
  now: Clock;
}

/**
 * Says which flush is due; the caller runs it and reports it with `started`.
 *
 * @example
 * ```ts
 * const cadence = new FlushCadence({ fullMs: 1000, liveMs: 100, now: Date.now });
 * const due = cadence.due(); // "full" at first, then "live" every 100 ms, "full" every 1000 ms
 * if (due) cadence.started(due);
 * ```
 */
export class FlushCadence {
  readonly #o: FlushCadenceOptions;
  /** -Infinity: the first flush is due at once. */
  #lastFull = -Infinity;
  #lastLive = -Infinity;

  constructor(options: FlushCadenceOptions) {
    this.#o = options;
  }

  /** Whether the live cadence runs at all. */
  get live(): boolean {
    return this.#o.liveMs > 0 && this.#o.liveMs < this.#o.fullMs;
  }

  /** The flush due now, if any (a full one wins, unless the previous one is still writing: `fullBusy`). */
  due(fullBusy = false): FlushKind | undefined {
    const now = this.#o.now();
    if (!fullBusy && now - this.#lastFull >= this.#o.fullMs) return "full";
    if (this.live && now - this.#lastLive >= this.#o.liveMs) return "live";
    return undefined;
  }

  /** Milliseconds until the next flush is due (0: due now); `fullBusy` as for `due`. */
  untilDue(fullBusy = false): number {
    const now = this.#o.now();
    let next = fullBusy ? Infinity : this.#lastFull + this.#o.fullMs;
    if (this.live) next = Math.min(next, this.#lastLive + this.#o.liveMs);
    return Math.max(0, next - now);
  }

  /** A flush of `kind` started now. */
  started(kind: FlushKind): void {
    const now = this.#o.now();
    this.#lastLive = now;
    if (kind === "full") this.#lastFull = now;
  }
}

/**
 * How often the flush timer looks whether a flush is due: a quarter of the
 * live cadence (at least 10 ms) when it runs, else half the full one (at least 100 ms).
 *
 * @example
 * ```ts
 * flushTickMs(1000, 100); // 25
 * flushTickMs(1000, 0); // 500
 * ```
 */
export function flushTickMs(fullMs: number, liveMs: number): number {
  const live = liveMs > 0 && liveMs < fullMs;
  return live ? Math.max(10, Math.floor(liveMs / 4)) : Math.max(100, Math.floor(fullMs / 2));
}
