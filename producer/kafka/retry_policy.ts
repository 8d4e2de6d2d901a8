/**
 * When a failed batch is tried again, like the Java client: retriable errors
 * are retried with the shared exponential backoff (100 ms doubling to 1 s,
 * jittered) until the batch's delivery timeout would pass (and, when set,
 * until its retries are used up); errors that put the cached leader in doubt
 * also refresh the metadata. Pure: the elapsed time is passed in.
 */
import { backoffDelay, type BackoffOptions } from "@iot/shared";
import { needsMetadataRefresh } from "./errors.ts";

/** The backoff between attempts of a batch (the Java client's retry.backoff.ms and retry.backoff.max.ms). */
export const BATCH_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 1000, jitter: 0.2 };

/** The default delivery timeout, ms (the Java client's delivery.timeout.ms). */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 120_000;

/** What to do with a batch after a retriable error. */
export type RetryDecision =
  | { retry: false; reason: "closing" | "retries" | "timeout" }
  | { retry: true; delayMs: number; refreshMetadata: boolean };

/** What `decideRetry` knows of a batch. */
export interface RetryState {
  /** Failed attempts of the batch, this one included (1 after the first failure). */
  attempts: number;
  /** Time since the batch was handed to the client, ms. */
  elapsedMs: number;
  /** The batch fails once this much time would have passed before its next attempt, ms. */
  deliveryTimeoutMs: number;
  /** Retries allowed per batch (default: unbounded; the delivery timeout bounds them). */
  retries?: number;
  /** The producer is closing: nothing is retried. */
  closing: boolean;
  /** Random source of the jitter (default `Math.random`). */
  random?: () => number;
}

/** Decides whether and when a batch that failed with a retriable `error` is sent again. */
export function decideRetry(error: unknown, state: RetryState): RetryDecision {
  if (state.closing) return { retry: false, reason: "closing" };
  if (state.retries !== undefined && state.attempts > state.retries) return { retry: false, reason: "retries" };
  const delayMs = backoffDelay(state.attempts, { ...BATCH_BACKOFF, random: state.random });
  if (state.elapsedMs + delayMs > state.deliveryTimeoutMs) return { retry: false, reason: "timeout" };
  return { retry: true, delayMs, refreshMetadata: needsMetadataRefresh(error) };
}
