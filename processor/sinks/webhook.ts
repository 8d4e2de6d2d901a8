/**
 * The webhook notifier: POSTs each incident announcement (the same JSON as
 * on the alerts topic) to `ALERT_WEBHOOK_URL`, one at a time in order, with
 * retries and backoff through `shared/retry.ts`. Bounded everywhere: a queue
 * of at most `maxQueue` announcements (the oldest is dropped when full), a
 * timeout per attempt, a number of attempts and a deadline per announcement,
 * and a bounded stop. Each outcome is counted and recorded on the incident
 * (`delivery`) through `record`.
 */
import { type IncidentDelivery, type Logger, retry, RetryExhaustedError } from "@iot/shared";
import type { AnnouncementPayload } from "../stages/announce.ts";

/** Final outcome of one announcement. */
export type DeliveryOutcome = "delivered" | "failed" | "dropped";

/** Options of `WebhookNotifier`. */
export interface WebhookOptions {
  url: string;
  log: Logger;
  /** Announcements waiting at most (default 1000); the oldest is dropped beyond. */
  maxQueue?: number;
  /** Attempts per announcement (default 5). */
  maxAttempts?: number;
  /** Time per announcement, retries included (default 60 s). */
  deadlineMs?: number;
  /** Time per attempt (default 5 s). */
  timeoutMs?: number;
  /** First retry delay (default 500 ms), doubling up to `maxDelayMs` (default 10 s). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Records the outcome on the incident (errors are logged, not retried). */
  record?: (payload: AnnouncementPayload, delivery: IncidentDelivery) => Promise<void>;
  /** Counts an outcome (metrics). */
  onOutcome?: (outcome: DeliveryOutcome) => void;
  /** Wall clock, epoch ms. */
  now?: () => number;
}

/** A non-2xx answer of the webhook. */
export class WebhookError extends Error {
  override name = "WebhookError";
  constructor(readonly status: number) {
    super(`Webhook answered HTTP ${status}`);
  }
}

/** Delivers announcements to a webhook in the background. */
export class WebhookNotifier {
  readonly #o: Required<Omit<WebhookOptions, "record" | "onOutcome">> & Pick<WebhookOptions, "record" | "onOutcome">;
  readonly #queue: AnnouncementPayload[] = [];
  readonly #abort = new AbortController();
  #running?: Promise<void>;
  readonly counts: Record<DeliveryOutcome, number> = { delivered: 0, failed: 0, dropped: 0 };

  constructor(options: WebhookOptions) {
    this.#o = {
      maxQueue: 1000,
      maxAttempts: 5,
      deadlineMs: 60_000,
      timeoutMs: 5000,
      initialDelayMs: 500,
      maxDelayMs: 10_000,
      now: Date.now,
      ...options,
    };
  }

  /** Announcements waiting or being delivered. */
  get pending(): number {
    return this.#queue.length + (this.#running ? 1 : 0);
  }

  /** Queues an announcement; delivery runs in the background. */
  enqueue(payload: AnnouncementPayload): void {
    if (this.#abort.signal.aborted) return this.#finish(payload, "dropped", 0, "notifier stopped");
    if (this.#queue.length >= this.#o.maxQueue) this.#finish(this.#queue.shift()!, "dropped", 0, "queue full");
    this.#queue.push(payload);
    this.#running ??= this.#drain().finally(() => (this.#running = undefined));
  }

  async #drain(): Promise<void> {
    for (let p = this.#queue.shift(); p; p = this.#queue.shift()) await this.#deliver(p);
  }

  async #deliver(payload: AnnouncementPayload): Promise<void> {
    let attempts = 0;
    const body = JSON.stringify(payload);
    try {
      await retry(async (attempt) => {
        attempts = attempt;
        const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#o.timeoutMs)]);
        const res = await fetch(this.#o.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          signal,
        });
        await res.body?.cancel();
        if (!res.ok) throw new WebhookError(res.status);
      }, {
        maxAttempts: this.#o.maxAttempts,
        deadlineMs: this.#o.deadlineMs,
        initialMs: this.#o.initialDelayMs,
        maxMs: this.#o.maxDelayMs,
        jitter: 0.2,
        signal: this.#abort.signal,
        // A 4xx other than 408/429 will not get better.
        isRetriable: (e) => !(e instanceof WebhookError) || e.status >= 500 || e.status === 408 || e.status === 429,
        onRetry: ({ attempt, error, delayMs }) =>
          this.#o.log.debug("Webhook delivery failed; retrying", { attempt, error, delay_ms: delayMs }),
      });
      this.#finish(payload, "delivered", attempts);
    } catch (e) {
      const cause = e instanceof RetryExhaustedError ? e.cause : e;
      const message = cause instanceof Error ? cause.message : String(cause);
      this.#o.log.warn("Webhook delivery gave up", { incident: payload.groupKey, attempts, error: message });
      this.#finish(payload, "failed", attempts, message);
    }
  }

  #finish(payload: AnnouncementPayload, outcome: DeliveryOutcome, attempts: number, error?: string): void {
    this.counts[outcome]++;
    this.#o.onOutcome?.(outcome);
    const delivery: IncidentDelivery = {
      state: outcome,
      event: payload.event,
      attempts,
      at: new Date(this.#o.now()),
      ...(error ? { error } : {}),
    };
    this.#o.record?.(payload, delivery).catch((e) =>
      this.#o.log.warn("Could not record a webhook delivery", { incident: payload.groupKey, error: e })
    );
  }

  /** Waits up to `graceMs` for the queue to drain, then gives up on the rest (counted as dropped). */
  async stop(graceMs = 5000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#running ?? Promise.resolve(),
      new Promise<void>((r) => (timer = setTimeout(r, graceMs))),
    ]);
    clearTimeout(timer);
    this.#abort.abort();
    for (let p = this.#queue.shift(); p; p = this.#queue.shift()) this.#finish(p, "dropped", 0, "notifier stopped");
    await this.#running?.catch(() => {});
  }
}
