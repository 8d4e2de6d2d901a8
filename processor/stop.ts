/**
 * The processor's stop: a drain bounded by a deadline (`PROCESSOR_STOP_TIMEOUT_MS`).
 *
 * The final flush gets most of the deadline; the heartbeat and each close
 * after it get a short bound (`closeMs`, a tenth of the deadline, at most 2 s).
 * When the flush has not finished `3 × closeMs` before the deadline, the
 * abandon signal is aborted: every retry and wait gives up, and what was not
 * committed is read again at the next start (the stop report and a log line
 * say which offsets).
 */
import type { Logger } from "@iot/shared";
import { within } from "./concurrency.ts";
import type { StopReport } from "./handle.ts";

/** The final commit of a stop waits this long for the group to be joined (after a rebalance or a broker loss). */
export const STOP_JOIN_WAIT_MS = 5000;

/** How a stop spends its deadline. */
export interface StopBudget {
  /** The bound of the heartbeat and of each close after the flush. */
  closeMs: number;
  /** When the abandon signal is aborted, from the start of the stop. */
  abandonAfterMs: number;
}

/**
 * The budget of a stop with deadline `graceMs`.
 *
 * @example
 * ```ts
 * stopBudget(10_000); // { closeMs: 1000, abandonAfterMs: 7000 }
 * ```
 */
export function stopBudget(graceMs: number): StopBudget {
  const closeMs = Math.min(2000, Math.floor(graceMs / 10));
  return { closeMs, abandonAfterMs: Math.max(0, graceMs - 3 * closeMs) };
}

/** Options of `drainWithin`. */
export interface DrainOptions {
  /** The stop deadline, ms. */
  graceMs: number;
  /** Aborted at the deadline (or when the flush did not complete): every retry and wait gives up. */
  abandon: AbortController;
  /** The final flush (it commits). */
  flush: () => Promise<void>;
  /** The last heartbeat, bounded by `closeMs`; skipped once abandoned. */
  heartbeat: () => Promise<void>;
  log: Logger;
}

/** What `drainWithin` did. */
export interface DrainResult {
  /** Whether the final flush completed before the deadline. */
  flushed: boolean;
  /** The bound left for each close. */
  closeMs: number;
}

/**
 * Runs the final flush and heartbeat within the deadline. Whatever happens,
 * the abandon signal is aborted on return unless the flush completed.
 *
 * @example
 * ```ts
 * const abandon = new AbortController();
 * const { flushed, closeMs } = await drainWithin({ graceMs: 10_000, abandon, flush, heartbeat, log });
 * // then close the consumer and the clients, each within closeMs
 * ```
 */
export async function drainWithin(o: DrainOptions): Promise<DrainResult> {
  const { closeMs, abandonAfterMs } = stopBudget(o.graceMs);
  const signal = o.abandon.signal;
  const abandoned = new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
  const abort = setTimeout(() => {
    o.abandon.abort();
    o.log.error("Stop deadline passed: giving up unwritten data (it will be re-read)");
  }, abandonAfterMs);
  let flushed = false;
  try {
    await Promise.race([o.flush().then(() => (flushed = !signal.aborted)), abandoned])
      .catch((e) => o.log.warn("Final flush failed", { error: e }));
    if (!signal.aborted) await within(o.heartbeat(), closeMs).catch(() => {});
  } finally {
    clearTimeout(abort);
  }
  if (!flushed) o.abandon.abort();
  return { flushed, closeMs };
}

/**
 * Per owned partition, the committed offset and the offset fetched up to,
 * where they differ (the records between are read again at the next start).
 *
 * @example
 * ```ts
 * uncommittedOffsets([0, 1], (p) => [10, 5][p], (p) => [9, 7][p]); // { "1": { committed: 5, fetchedUpTo: 8 } }
 * ```
 */
export function uncommittedOffsets(
  partitions: readonly number[],
  committedOffset: (p: number) => number | undefined,
  foldedUpTo: (p: number) => number,
): StopReport["uncommitted"] {
  const out: StopReport["uncommitted"] = {};
  for (const p of partitions) {
    const committed = committedOffset(p) ?? null;
    const fetchedUpTo = foldedUpTo(p) + 1;
    if (fetchedUpTo > 0 && fetchedUpTo !== committed) out[String(p)] = { committed, fetchedUpTo };
  }
  return out;
}

/** What a stop closes, in order. */
export interface Closing {
  /** The consumer (leaves the group). */
  consumer: () => Promise<void> | undefined;
  /** The alerting (its webhook deliveries), given the bound. */
  alerts: (closeMs: number) => Promise<unknown> | undefined;
  /** Then the rest at once: the publisher (unbounded: it has its own bound), and the clients and servers. */
  rest: () => [publisher: unknown, ...bounded: (Promise<unknown> | undefined)[]];
}

/**
 * Closes the consumer, then the alerting, then the rest at once, each within
 * `closeMs`; a failure is logged (the consumer's) or ignored, never thrown.
 */
export async function closeWithin(closeMs: number, log: Logger, c: Closing): Promise<void> {
  await within(c.consumer(), closeMs).catch((e) => log.warn("Consumer disconnect failed", { error: e }));
  await Promise.resolve(c.alerts(closeMs)).catch(() => {});
  const [publisher, ...bounded] = c.rest();
  await Promise.allSettled([Promise.resolve(publisher), ...bounded.map((p) => within(p, closeMs))]);
}

/** Logs what a stop abandoned (an error: those records are read again) and that it stopped. */
export function logStopped(
  log: Logger,
  report: StopReport,
  inflightBatches: number,
  totals: Record<string, number>,
): void {
  if (report.abandoned) {
    log.error("Processor stopped with work abandoned: these records are read again at the next start", {
      uncommitted: report.uncommitted,
      in_flight_batches: inflightBatches,
    });
  }
  log.info("Processor stopped", { ...totals, abandoned: report.abandoned ? 1 : 0 });
}
