/**
 * Delivery accounting: hands each generated batch to the client, and counts
 * the outcome of each of its parts (acknowledged, failed, refused as too
 * large) in the statistics and metrics, exactly once; then flushes within a
 * deadline and says how many records it abandoned.
 */
import type { Logger } from "@iot/shared";
import type { GeneratedRecord } from "./generator.ts";
import { InFlight } from "./in_flight.ts";
import type { ProducerMetrics } from "./metrics.ts";
import type { RecordSender, SendOutcome, SendPart } from "./record_sender.ts";
import { emptyTally, type ProducerStats } from "./stats.ts";

/** Options of `Delivery`. */
export interface DeliveryOptions {
  sender: RecordSender;
  stats: ProducerStats;
  metrics: ProducerMetrics;
  log: Logger;
  /** Sends pending at once on flowing lanes (see `InFlight`). */
  maxSends: number;
  /** Unacknowledged records at once. */
  maxRecords: number;
}

/** Sends batches and accounts for every record of them. */
export class Delivery {
  /** Back-pressure: whether the loop may send more. */
  readonly inFlight: InFlight;
  /** Parts of sends not settled yet (for the flush). */
  #parts = new Set<Promise<void>>();
  #records = 0;
  #abandoned = 0;

  constructor(readonly options: DeliveryOptions) {
    const { sender } = options;
    this.inFlight = new InFlight({
      maxSends: options.maxSends,
      maxRecords: options.maxRecords,
      stalled: (lane) => sender.stalled(lane),
    });
  }

  /** Records handed to the client and not settled yet. */
  get records(): number {
    return this.#records;
  }

  /** Records still unacknowledged when the flush deadline passed. */
  get abandoned(): number {
    return this.#abandoned;
  }

  /** Sends a batch; its parts are counted as they settle. */
  send(records: GeneratedRecord[]): void {
    const { sender, stats, metrics } = this.options;
    const enqueued = performance.now();
    stats.onSent(records.length);
    metrics.sent.inc(records.length);
    let parts: SendPart[];
    try {
      parts = sender.send(records);
    } catch (e) {
      parts = [{ lane: 0, records, outcome: Promise.reject(e) }];
    }
    const done = this.inFlight.begin(parts.map((p) => ({ lane: p.lane, records: p.records.length })));
    parts.forEach((part, i) => this.#track(part, enqueued, done[i]));
  }

  #track(part: SendPart, enqueued: number, done: () => void): void {
    const records = part.records;
    const tally = emptyTally();
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      tally.byType[r.sensorType]++;
      tally.byStatus[r.status]++;
      if (r.kind === "duplicate") tally.duplicates++;
    }
    tally.count = records.length;
    this.#records += tally.count;
    this.options.metrics.inFlight.set(this.#records);
    const p: Promise<void> = part.outcome
      .catch((e: unknown): SendOutcome => ({ acked: 0, failed: records.length, error: e as Error }))
      .then((outcome) => {
        const latency = performance.now() - enqueued;
        if (outcome.failed === 0) this.options.stats.onAcked(tally, latency);
        else {
          // Partly acknowledged: the distributions count whole parts only.
          if (outcome.acked > 0) this.options.stats.onAcked({ ...emptyTally(), count: outcome.acked }, latency);
          const refused = outcome.refused ?? 0;
          this.options.stats.onFailed(outcome.failed, refused);
          this.options.metrics.failed.inc(outcome.failed);
          if (refused > 0) {
            this.options.metrics.refused.inc(refused);
            this.options.log.error("Records refused as too large", { records: refused, error: outcome.error });
          }
          if (outcome.failed > refused) {
            this.options.log.error("Send failed definitively", {
              records: outcome.failed - refused,
              error: outcome.error,
            });
          }
        }
        if (outcome.acked > 0) {
          this.options.metrics.acked.inc(outcome.acked);
          this.options.metrics.latency.observe(latency / 1000);
        }
      })
      .finally(() => {
        this.#records -= tally.count;
        this.options.metrics.inFlight.set(this.#records);
        this.#parts.delete(p);
        done();
      });
    this.#parts.add(p);
  }

  /** Waits until every part settled, or `timeoutMs`; then notes what is abandoned. */
  async flush(timeoutMs: number): Promise<void> {
    if (this.#parts.size === 0) return;
    this.options.log.info("Flushing", { in_flight: this.#records, deadline_s: timeoutMs / 1000 });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      Promise.allSettled([...this.#parts]).then(() => false),
      new Promise<boolean>((r) => timer = setTimeout(() => r(true), timeoutMs)),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.#abandoned = this.#records;
      this.options.log.error("Flush deadline passed with records unacknowledged", { in_flight: this.#records });
    }
  }
}
