/** The processor's public handle types: its counters, what a stop did, and the running instance. */
import type { ProcessorConfig } from "./config.ts";
import type { ProcessorMetrics } from "./metrics.ts";
import type { SeqCounts } from "./stages/sequence.ts";

/** Counters of one processor instance. */
export interface ProcessorStats {
  instance: string;
  consumed: number;
  stored: number;
  invalid: number;
  late: number;
  /** Readings the detectors judged (stored for the first time, not late). */
  checked: number;
  deadLetters: number;
  windowsWritten: number;
  alertsNew: number;
  alertsResolved: number;
  mongoRetries: number;
  assigned: number[];
  /** Next offset to commit, per partition, as committed. */
  committed: Record<string, number>;
  lag: Record<string, number>;
  e2eLagMs: number;
  openWindows: number;
  openAlerts: number;
  /** Seconds spent per stage (raw_write, window_load, window_write, ...). */
  stageSeconds: Record<string, number>;
  /**
   * Consumed records by outcome, each counted once its writes settled: `stored`, `replay` (the same
   * Kafka record fetched again), `duplicate` (the same reading `_id` from another record), `dead_lettered`,
   * `late`, `abandoned` (its writes gave up or the stop abandoned them: it is read again), `consume_only`.
   */
  outcomes: Record<string, number>;
  /** Dead-lettered records by reason (their sum is `outcomes.dead_lettered`). */
  deadLetteredByReason: Record<string, number>;
  /** Sequence events of readings that carry `seq` (see `stages/sequence.ts`): observed, never refused. */
  seq: SeqCounts;
}

/** What a stop did. */
export interface StopReport {
  /** The stop deadline passed or the final flush failed: some fetched records were not committed. */
  abandoned: boolean;
  /** Per owned partition: the committed offset and the offset fetched up to (records between are read again). */
  uncommitted: Record<string, { committed: number | null; fetchedUpTo: number }>;
}

/** A running processor. */
export interface ProcessorHandle {
  /** Resolves once the consumer joined the group and got its partitions. */
  ready: Promise<void>;
  /**
   * Graceful stop within the configured deadline (`stopTimeoutMs`): stop fetching, finish the batch,
   * flush windows and alerts, commit, close. Says what was abandoned.
   */
  stop(): Promise<StopReport>;
  /** Current counters. */
  stats(): ProcessorStats;
  /** The settings in effect. */
  config: ProcessorConfig;
  /** Port of /metrics and /healthz, when served. */
  metricsPort?: number;
  /** The metrics served on /metrics (the website handler adds its own to the registry's). */
  metrics: ProcessorMetrics;
}
