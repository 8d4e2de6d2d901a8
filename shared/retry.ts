/**
 * The one backoff and retry mechanism of the pipeline. Every program that
 * waits before trying again (a MongoDB write, a Kafka request, a WebSocket
 * reconnect) takes its delays from {@linkcode backoffDelay} and, where it
 * retries a call, runs it through {@linkcode retry}: bounded by attempts
 * and by a deadline in time, never forever.
 *
 * Pure: the clock, the sleep and the random source are injectable, so the
 * policy is unit-tested without timers.
 * @module
 */

/** How delays grow between attempts. */
export interface BackoffOptions {
  /** Delay before the first retry, ms. Default 100. */
  initialMs?: number;
  /** Upper bound of a delay, ms. Default 5000. */
  maxMs?: number;
  /** Growth factor per attempt. Default 2. */
  factor?: number;
  /** Fraction of the delay that is randomized (0: none, 1: full jitter). Default 0. */
  jitter?: number;
  /** Random source in [0, 1); default `Math.random`. */
  random?: () => number;
}

/**
 * The delay before retry number `attempt` (1 for the first retry): exponential
 * from `initialMs`, capped at `maxMs`, optionally jittered downwards.
 *
 * @example
 * ```ts
 * import { backoffDelay } from "@iot/shared";
 * backoffDelay(1); // 100
 * backoffDelay(3, { initialMs: 50, maxMs: 1000 }); // 200
 * ```
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 100;
  const max = options.maxMs ?? 5000;
  const factor = options.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0));
  const n = Math.max(1, Math.floor(attempt));
  const raw = Math.min(max, initial * factor ** (n - 1));
  if (jitter === 0) return raw;
  const r = (options.random ?? Math.random)();
  return Math.round(raw * (1 - jitter * r));
}

/** What one failed attempt looked like, for logging and metrics. */
export interface RetryAttempt {
  /** 1 for the first failure. */
  attempt: number;
  /** The error thrown by the attempt. */
  error: unknown;
  /** The delay before the next attempt, ms. */
  delayMs: number;
}

/** Options of {@linkcode retry}. */
export interface RetryOptions extends BackoffOptions {
  /** Attempts in all (the first call included). Default: unbounded by count (the deadline bounds it). */
  maxAttempts?: number;
  /** Give up once this much time has passed since the first attempt, ms. Default 120 000 (Kafka's delivery.timeout.ms). */
  deadlineMs?: number;
  /** Whether an error is worth another attempt; a non-retriable error is thrown at once. Default: every error. */
  isRetriable?: (error: unknown) => boolean;
  /** Called after each failed attempt that will be retried (log, count, heartbeat). */
  onRetry?: (info: RetryAttempt) => void | Promise<void>;
  /** Aborting stops the retries: the last error (or the abort reason) is thrown. */
  signal?: AbortSignal;
  /** Clock, ms; default `Date.now`. */
  now?: () => number;
  /** Sleep; default a timer that the signal cuts short. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** A retried operation gave up: out of attempts or past its deadline. */
export class RetryExhaustedError extends Error {
  override name = "RetryExhaustedError";
  /** Attempts made. */
  readonly attempts: number;
  /** Time spent, ms. */
  readonly elapsedMs: number;
  constructor(message: string, options: { attempts: number; elapsedMs: number; cause: unknown }) {
    super(message, { cause: options.cause });
    this.attempts = options.attempts;
    this.elapsedMs = options.elapsedMs;
  }
}

/** Sleeps `ms`, or less when `signal` aborts first. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Runs `fn` until it succeeds, with exponential backoff between attempts.
 * Throws at once on a non-retriable error or an abort, and throws a
 * {@linkcode RetryExhaustedError} (with the last error as `cause`) once the
 * attempts or the deadline run out.
 *
 * @example
 * ```ts
 * import { retry } from "@iot/shared";
 * const value = await retry(() => fetch("http://127.0.0.1:8000/healthz"), {
 *   maxAttempts: 5,
 *   deadlineMs: 10_000,
 *   onRetry: ({ attempt, delayMs }) => console.warn(`attempt ${attempt} failed, again in ${delayMs} ms`),
 * });
 * ```
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const deadline = options.deadlineMs ?? 120_000;
  const maxAttempts = options.maxAttempts ?? Infinity;
  const started = now();
  for (let attempt = 1;; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      if (options.isRetriable && !options.isRetriable(error)) throw error;
      const elapsed = now() - started;
      const delayMs = backoffDelay(attempt, options);
      if (attempt >= maxAttempts || elapsed + delayMs > deadline) {
        throw new RetryExhaustedError(
          `Gave up after ${attempt} attempt(s) in ${Math.round(elapsed)} ms: ${
            error instanceof Error ? error.message : String(error)
          }`,
          { attempts: attempt, elapsedMs: elapsed, cause: error },
        );
      }
      await options.onRetry?.({ attempt, error, delayMs });
      await sleep(delayMs, options.signal);
      if (options.signal?.aborted) throw error;
    }
  }
}
