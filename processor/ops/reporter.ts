/**
 * The processor's heartbeat, run every `heartbeatMs` and once at stop: it
 * samples the consumption rate and the end-to-end lag, reads the readings
 * topic's offsets for the lag of each owned partition (and notices a changed
 * partition count), and writes the instance's `pipeline_stats` document. A
 * failed write of that document says MongoDB is unhealthy; a successful one,
 * healthy again.
 */
import type { PipelineStatsDoc } from "@iot/shared";
import type { Clock } from "../clock.ts";
import type { ProcessorMetrics } from "../metrics.ts";
import { LagMedian, partitionLag, processorStatsDoc, RateMeter } from "./heartbeat.ts";

/** Options of `Reporter`. */
export interface ReporterOptions {
  instance: string;
  now: Clock;
  metrics: ProcessorMetrics;
  /** The readings topic's offsets, from the broker. */
  topicOffsets: () => Promise<readonly { partition: number; high: string }[]>;
  owns: (partition: number) => boolean;
  committedOffset: (partition: number) => number | undefined;
  /** The readings topic's partition count as last read (called with every read). */
  onPartitionCount: (count: number) => void;
  /** Records consumed so far. */
  consumed: () => number;
  /** The document's `totals`. */
  totals: () => Record<string, number>;
  /** Writes the `pipeline_stats` document; undefined when there is nowhere to write it (consume-only). */
  write: (doc: Omit<PipelineStatsDoc, "_id">) => Promise<unknown> | undefined;
  /** Whether the last write of the document succeeded. */
  onHealth: (ok: boolean) => void;
}

/**
 * The heartbeat of one instance, with the lag and rate it reports.
 *
 * @example
 * ```ts
 * const reporter = new Reporter({ instance: "p1", now: Date.now, metrics, topicOffsets, owns, committedOffset,
 *   onPartitionCount, consumed: () => totals.consumed, totals: () => ({ ...totals }), write, onHealth });
 * reporter.e2e.add(Date.now() - eventTime); // per batch
 * setInterval(() => reporter.beat().catch(() => {}), 5000);
 * ```
 */
export class Reporter {
  /** End-to-end lag samples (now minus event time), one per batch. */
  readonly e2e = new LagMedian();
  readonly #o: ReporterOptions;
  readonly #rate: RateMeter;
  readonly #startedAt: Date;
  #lag: Record<string, number> = {};

  constructor(options: ReporterOptions) {
    this.#o = options;
    this.#startedAt = new Date(options.now());
    this.#rate = new RateMeter(options.now());
  }

  /** The lag of each owned partition, as last read. */
  get lag(): Record<string, number> {
    return { ...this.#lag };
  }

  /** Forgets the lag of partitions no longer owned. */
  forget(partitions: readonly number[]): void {
    for (const p of partitions) delete this.#lag[String(p)];
    if (partitions.length) this.#o.metrics.lag.reset();
  }

  /** One heartbeat: rate, lag, then the `pipeline_stats` document (throws when its write fails). */
  async beat(): Promise<void> {
    const o = this.#o;
    const now = o.now();
    o.metrics.e2eLagMs.set(this.e2e.take());
    const rate = this.#rate.sample(now, o.consumed());
    await this.#updateLag().catch(() => {});
    const written = o.write(processorStatsDoc({
      instance: o.instance,
      now,
      startedAt: this.#startedAt,
      rate,
      totals: o.totals(),
      lag: this.lag,
      e2eLagMs: this.e2e.value,
    }));
    if (!written) return;
    try {
      await written;
      o.onHealth(true);
    } catch (e) {
      o.onHealth(false);
      throw e;
    }
  }

  async #updateLag(): Promise<void> {
    const o = this.#o;
    const offsets = await o.topicOffsets();
    o.onPartitionCount(offsets.length);
    for (const [p, n] of Object.entries(partitionLag(offsets, o.owns, o.committedOffset))) {
      this.#lag[p] = n;
      o.metrics.lag.set(n, { partition: Number(p) });
    }
  }
}
