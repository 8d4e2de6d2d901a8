/** The processor's Prometheus metrics. */
import { type Counter, type Gauge, type Histogram, Registry } from "@iot/shared";

/** Metrics of one processor instance. */
export interface ProcessorMetrics {
  registry: Registry;
  consumed: Counter;
  invalid: Counter;
  late: Counter;
  written: Counter;
  alerts: Counter;
  webhook: Counter;
  dlq: Counter;
  records: Counter;
  checked: Counter;
  seqEvents: Counter;
  seqMissing: Counter;
  dlqTruncated: Counter;
  dlqMongoOnly: Counter;
  mongoRetries: Counter;
  stageSeconds: Counter;
  batchSeconds: Histogram;
  flushSeconds: Histogram;
  lag: Gauge;
  e2eLagMs: Gauge;
  openWindows: Gauge;
  openAlerts: Gauge;
  assignedPartitions: Gauge;
  /** The website handler's metrics, in the same registry. */
  websites: WebsiteHandlerMetrics;
}

/** Metrics of the website handler (`websites/handler.ts`). */
export interface WebsiteHandlerMetrics {
  /** Website checks consumed, by outcome: counted, skipped (a replay), invalid. */
  checks: Counter;
  /** `website_metrics` window documents written. */
  windowsWritten: Counter;
  /** Website alert events, by rule and event (new, resolved). */
  alerts: Counter;
  /** Time to process one batch of checks. */
  batchSeconds: Histogram;
}

/** Creates the registry and metrics of a processor. */
export function createProcessorMetrics(): ProcessorMetrics {
  const registry = new Registry();
  return {
    registry,
    consumed: registry.counter("processor_consumed_total", "Records consumed from the readings topic"),
    invalid: registry.counter("processor_invalid_total", "Records refused by validation, by reason"),
    late: registry.counter("processor_late_total", "Readings behind the watermark (stored raw, not windowed)"),
    written: registry.counter("processor_written_total", "Documents written to MongoDB, by collection"),
    alerts: registry.counter("processor_alerts_total", "Incident announcements, by event (opened, updated, resolved)"),
    webhook: registry.counter(
      "processor_alert_webhook_total",
      "Announcements to ALERT_WEBHOOK_URL by outcome (delivered, failed, dropped)",
    ),
    dlq: registry.counter("processor_dead_letters_total", "Records sent to the dead-letter topic"),
    records: registry.counter(
      "processor_records_total",
      "Consumed records by outcome: stored, replay, duplicate, dead_lettered (by reason), late, abandoned, consume_only",
    ),
    checked: registry.counter(
      "processor_readings_checked_total",
      "Readings judged by the detectors (each reading stored for the first time, unless late)",
    ),
    seqEvents: registry.counter(
      "processor_seq_events_total",
      "Readings with seq out of the expected order, by kind: gap, reorder, repeat, restart (never refused)",
    ),
    seqMissing: registry.counter("processor_seq_missing_total", "Sequence numbers skipped by gaps, per sensor"),
    dlqTruncated: registry.counter("processor_dead_letters_truncated_total", "Dead letters published truncated"),
    dlqMongoOnly: registry.counter(
      "processor_dead_letters_mongo_only_total",
      "Dead letters the DLQ topic refused for good (only the dead_letters copy is kept)",
    ),
    mongoRetries: registry.counter("processor_mongo_retries_total", "MongoDB operations retried after an error"),
    stageSeconds: registry.counter("processor_stage_seconds_total", "Time spent per processing stage"),
    batchSeconds: registry.histogram("processor_batch_seconds", "Time to process one fetched batch"),
    flushSeconds: registry.histogram("processor_flush_seconds", "Time to write windows and alerts and commit"),
    lag: registry.gauge("processor_consumer_lag", "High watermark minus committed offset, by partition"),
    e2eLagMs: registry.gauge("processor_e2e_lag_ms", "Median of now minus event time over the last interval"),
    openWindows: registry.gauge("processor_open_windows", "Windows held in memory"),
    openAlerts: registry.gauge("processor_open_alerts", "Incidents currently open"),
    assignedPartitions: registry.gauge("processor_assigned_partitions", "Partitions assigned to this instance"),
    websites: createWebsiteHandlerMetrics(registry),
  };
}

/** Registers the website handler's metrics in `registry` (default: a registry of their own). */
export function createWebsiteHandlerMetrics(registry: Registry = new Registry()): WebsiteHandlerMetrics {
  return {
    checks: registry.counter(
      "processor_website_checks_total",
      "Website checks consumed, by outcome: counted, skipped (replayed), invalid",
    ),
    windowsWritten: registry.counter("processor_website_windows_written_total", "Website window documents written"),
    alerts: registry.counter("processor_website_alerts_total", "Website alert events, by rule and event"),
    batchSeconds: registry.histogram("processor_website_batch_seconds", "Time to process one batch of website checks"),
  };
}
