/**
 * Offset commits off the processing path. A flush offers the offsets it made
 * safe (stored, windows and alerts flushed); the committer commits them in
 * the background, one attempt at a time, so that a commit waiting on a lost
 * group coordinator never holds up the batches of any partition.
 *
 * - Each attempt is bounded (`attemptMs`): a request to a dead coordinator
 *   fails the attempt instead of waiting for kafkajs's retries.
 * - Offers coalesce: an offer made while an attempt runs replaces the one
 *   waiting, so the next attempt commits the newest offsets (commits are
 *   idempotent, and an offer never goes past what is stored).
 * - After a failure, the next attempt waits a backoff (`shared/retry.ts`);
 *   a failed offer is not retried by itself: the next flush offers its
 *   offsets again (they are still uncommitted), so failing is bounded.
 * - `commitNow` (the final commit of a stop) waits for the attempt in
 *   flight, then retries the given offsets within a deadline.
 * @module
 */
import { abortableSleep, backoffDelay, type BackoffOptions, retry } from "@iot/shared";
import type { PartitionOffset } from "./offsets.ts";

/** One commit attempt gets this long for its answer. */
export const COMMIT_ATTEMPT_MS = 5000;

/** Backoff between attempts after failures (from the first failure on). */
const FAILURE_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 2000 };

/** A commit attempt got no answer in time. */
export class CommitTimeoutError extends Error {
  override name = "CommitTimeoutError";
  constructor(readonly ms: number) {
    super(`The offset commit got no answer within ${ms} ms`);
  }
}

/**
 * One commit attempt of next-offsets taken in `generation`, waiting up to `joinWaitMs` for the group to be
 * joined. Resolves with the offsets committed (none: deferred, as when the group is not joined or a new
 * generation started); rejects when the attempt failed.
 */
export type CommitAttempt = (
  offsets: readonly PartitionOffset[],
  generation: number,
  joinWaitMs: number,
) => Promise<PartitionOffset[]>;

/** Options of `Committer`. */
export interface CommitterOptions {
  commit: CommitAttempt;
  /** Offsets the group accepted. */
  onCommitted(done: PartitionOffset[]): void;
  /** An attempt failed (`failures`: in a row). */
  onFailed?(error: unknown, failures: number): void;
  /** Bound of one attempt, ms (default `COMMIT_ATTEMPT_MS`; a join wait is added to it). */
  attemptMs?: number;
  /** Backoff after failures (default 250 ms doubling up to 2 s). */
  backoff?: BackoffOptions;
  /** Sleep that the signal cuts short (default a timer). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Clock, ms (default `Date.now`), for `commitNow`'s deadline. */
  now?: () => number;
}

/** What `commitNow` waits for and how long. */
export interface CommitNowOptions {
  /** How long each attempt waits for the group to be joined. */
  joinWaitMs: number;
  /** Attempts stop once this much time passed. */
  deadlineMs: number;
  signal?: AbortSignal;
}

interface Offer {
  offsets: readonly PartitionOffset[];
  generation: number;
}

/** Commits offered offsets in the background, bounded and coalesced. */
export class Committer {
  readonly #attemptMs: number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  #pending?: Offer;
  #loop?: Promise<void>;
  #failures = 0;
  /** Cuts a backoff short (`commitNow`). */
  #wake = new AbortController();

  constructor(readonly o: CommitterOptions) {
    this.#attemptMs = o.attemptMs ?? COMMIT_ATTEMPT_MS;
    this.#sleep = o.sleep ?? abortableSleep;
  }

  /** Failed attempts in a row. */
  get failures(): number {
    return this.#failures;
  }

  /** Whether an attempt (or its backoff) is under way. */
  get busy(): boolean {
    return this.#loop !== undefined;
  }

  /** Offers offsets to commit in the background; replaces an offer still waiting. */
  offer(offsets: readonly PartitionOffset[], generation: number): void {
    if (offsets.length === 0) return;
    this.#pending = { offsets: [...offsets], generation };
    this.#kick();
  }

  /**
   * Commits `offsets` now (after the attempt in flight, whose backoff is cut short), retrying failed
   * attempts within `deadlineMs`. Resolves with the offsets committed (none when deferred); rejects once
   * the deadline passed or `signal` aborted.
   */
  async commitNow(
    offsets: readonly PartitionOffset[],
    generation: number,
    o: CommitNowOptions,
  ): Promise<PartitionOffset[]> {
    this.#pending = undefined;
    this.#wake.abort();
    if (this.#loop) await this.#loop;
    if (offsets.length === 0) return [];
    const offer = { offsets: [...offsets], generation };
    return await retry(() => this.#attempt(offer, o.joinWaitMs), {
      ...(this.o.backoff ?? FAILURE_BACKOFF),
      deadlineMs: o.deadlineMs,
      signal: o.signal,
      now: this.o.now,
      sleep: this.#sleep,
      onRetry: ({ error }) => this.o.onFailed?.(error, this.#failures),
    });
  }

  #kick(): void {
    if (this.#loop || !this.#pending) return;
    this.#loop = this.#run().finally(() => {
      this.#loop = undefined;
      this.#kick();
    });
  }

  async #run(): Promise<void> {
    while (this.#pending) {
      const offer = this.#pending;
      this.#pending = undefined;
      try {
        await this.#attempt(offer, 0);
      } catch (error) {
        this.o.onFailed?.(error, this.#failures);
        if (this.#wake.signal.aborted) this.#wake = new AbortController();
        await this.#sleep(backoffDelay(this.#failures, this.o.backoff ?? FAILURE_BACKOFF), this.#wake.signal);
      }
    }
  }

  /** One bounded attempt; counts failures in a row, reports what was committed. */
  async #attempt(offer: Offer, joinWaitMs: number): Promise<PartitionOffset[]> {
    const bound = this.#attemptMs + joinWaitMs;
    const timer = new AbortController();
    const timeout = this.#sleep(bound, timer.signal).then(() => {
      if (!timer.signal.aborted) throw new CommitTimeoutError(bound);
      return [] as PartitionOffset[];
    });
    try {
      const done = await Promise.race([this.o.commit(offer.offsets, offer.generation, joinWaitMs), timeout]);
      this.#failures = 0;
      if (done.length) this.o.onCommitted(done);
      return done;
    } catch (error) {
      this.#failures++;
      throw error;
    } finally {
      timer.abort();
    }
  }
}
