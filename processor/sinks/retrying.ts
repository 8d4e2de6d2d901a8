/**
 * How the sinks retry: every MongoDB and Kafka write goes through `retry`
 * from `shared/retry.ts` (exponential backoff up to 5 s, bounded by a
 * deadline in time, cut short when the processor abandons its work), with
 * one log line, one metric and a consumer heartbeat per failed attempt.
 */
import { type Logger, retry, RetryExhaustedError } from "@iot/shared";
import type { Counter } from "@iot/shared";
import type { Clock } from "../clock.ts";

/** A retrying runner: `what` names the operation in logs. */
export type Retrier = <T>(what: string, fn: () => Promise<T>, heartbeat?: () => Promise<void>) => Promise<T>;

/** Options of `createRetrier`. */
export interface RetrierOptions {
  log: Logger;
  /** Counts each retried attempt. */
  retries?: Counter;
  /** Called with true after a success and false after a failure (health of the sink's server). */
  onHealth?: (ok: boolean) => void;
  /** Called once per retried attempt (totals). */
  onRetry?: () => void;
  /** Give up after this long, ms. */
  deadlineMs: number;
  /** Aborted when the processor abandons its work (stop deadline): retries end at once. */
  signal?: AbortSignal;
  /** Whether an error is worth another attempt (default: every error). */
  isRetriable?: (error: unknown) => boolean;
  now?: Clock;
}

/** Thrown by a retrier once its signal aborted: the work was abandoned, not failed. */
export class AbandonedError extends Error {
  override name = "AbandonedError";
  constructor(what: string, options?: { cause?: unknown }) {
    super(`${what} abandoned: the processor is stopping`, options);
  }
}

/** Creates the retrying runner of a set of sinks. */
export function createRetrier(o: RetrierOptions): Retrier {
  return async <T>(what: string, fn: () => Promise<T>, heartbeat?: () => Promise<void>): Promise<T> => {
    try {
      const r = await retry(() => fn(), {
        initialMs: 100,
        maxMs: 5000,
        deadlineMs: o.deadlineMs,
        signal: o.signal,
        now: o.now,
        isRetriable: o.isRetriable,
        onRetry: async ({ attempt, delayMs, error }) => {
          o.onHealth?.(false);
          o.retries?.inc();
          o.onRetry?.();
          o.log.warn(`${what} failed, retrying`, { attempt, delay_ms: delayMs, error });
          await heartbeat?.().catch(() => {});
        },
      });
      o.onHealth?.(true);
      return r;
    } catch (e) {
      if (o.signal?.aborted) throw new AbandonedError(what, { cause: e });
      if (e instanceof RetryExhaustedError) o.log.error(`${what} failed for good`, { error: e });
      throw e;
    }
  };
}
