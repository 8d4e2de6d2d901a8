/**
 * Open-loop rate control: messages fall due at `rate × elapsed` from a fixed
 * start, whatever happened before, so short stalls are caught up and the
 * average holds. Pure: the caller passes the clock.
 */

/** Options of `RateController`. */
export interface RateControllerOptions {
  /** Target messages per second; 0 means as fast as possible. */
  rate: number;
  /** Start of the schedule (ms, any monotonic clock). */
  start: number;
  /** Largest batch handed out at once. */
  maxBatch: number;
  /** Least time to wait between batches when nothing is due, letting a batch fill (ms, default 5). */
  lingerMs?: number;
  /** Lag beyond which the producer counts as falling behind (ms, default 1000). */
  behindMs?: number;
  /** Longest single wait (ms, default 250), so stop requests are noticed. */
  maxWaitMs?: number;
}

/** Decides how many messages are due and how long to sleep when none are. */
export class RateController {
  readonly rate: number;
  readonly start: number;
  readonly maxBatch: number;
  readonly lingerMs: number;
  readonly behindMs: number;
  readonly maxWaitMs: number;
  #taken = 0;

  constructor(options: RateControllerOptions) {
    if (!(options.rate >= 0) || !Number.isFinite(options.rate)) {
      throw new RangeError(`Rate must be a finite number ≥ 0, got ${options.rate}`);
    }
    if (!Number.isSafeInteger(options.maxBatch) || options.maxBatch < 1) {
      throw new RangeError(`Batch size must be a positive integer, got ${options.maxBatch}`);
    }
    this.rate = options.rate;
    this.start = options.start;
    this.maxBatch = options.maxBatch;
    this.lingerMs = options.lingerMs ?? 5;
    this.behindMs = options.behindMs ?? 1000;
    this.maxWaitMs = options.maxWaitMs ?? 250;
  }

  /** Messages handed out so far. */
  get taken(): number {
    return this.#taken;
  }

  /** Messages due by `now` and not handed out yet (unbounded when the rate is 0). */
  due(now: number): number {
    if (this.rate === 0) return Number.POSITIVE_INFINITY;
    return Math.max(0, Math.floor((this.rate * (now - this.start)) / 1000) - this.#taken);
  }

  /** The size of the next batch at `now` (0 when nothing is due), and records it as handed out. */
  take(now: number): number {
    const n = Math.min(this.due(now), this.maxBatch);
    this.#taken += n;
    return n;
  }

  /** How long to sleep at `now` before calling `take` again (0: something is due). */
  waitMs(now: number): number {
    if (this.due(now) > 0) return 0;
    const nextAt = this.start + ((this.#taken + 1) * 1000) / this.rate;
    return Math.min(this.maxWaitMs, Math.max(this.lingerMs, nextAt - now));
  }

  /** How far the sent messages trail the schedule, in ms (0 when on time or at rate 0). */
  lagMs(now: number): number {
    if (this.rate === 0) return 0;
    return (this.due(now) * 1000) / this.rate;
  }

  /** Whether the schedule is more than `behindMs` ahead of what was sent. */
  behind(now: number): boolean {
    return this.lagMs(now) > this.behindMs;
  }
}
