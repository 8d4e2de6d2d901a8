/** Kafka topic, consumer group and MongoDB collection names: the one place they are defined. */

/** Kafka topics used by the pipeline. */
export const TOPICS = {
  /** Sensor readings, keyed by sensor id. */
  readings: "sensor-data",
  /** Records the processor could not accept, with the reason and origin. */
  deadLetters: "sensor-data.dlq",
  /** Incident announcements: opened, updated, resolved. */
  alerts: "sensor-alerts",
  /** HTTP uptime checks, keyed by url. */
  websiteChecks: "website-checks",
  /** Website incident announcements, keyed by url. */
  websiteAlerts: "website-alerts",
  /** Rolling statistics per monitored website, keyed by url. */
  websiteStatistics: "website-statistics",
} as const;

/** Default consumer group of the stream processor. */
export const PROCESSOR_GROUP = "iot-processor";

/** Default consumer group of the processor's website-check handler. */
export const WEBSITE_PROCESSOR_GROUP = "iot-processor-websites";

/** Default MongoDB database name. */
export const DEFAULT_DB = "iot_analytics";

/** MongoDB collections. */
export const COLLECTIONS = {
  /** Raw readings, one document per reading with a deterministic `_id`. */
  readings: "sensor_metrics",
  /** Event-time windows, per type and location and per sensor. */
  windows: "windowed_metrics",
  /** Anomaly events: one per anomalous reading, kept as long as raw readings. */
  events: "anomaly_alerts",
  /** Sensor incidents: one open per sensor, grouping its rules (open, acknowledged, resolved). */
  incidents: "incidents",
  /** Silences: matching incidents are recorded but not announced. */
  silences: "silences",
  /** Latest dead letters (a capped copy of what went to the DLQ topic). */
  deadLetters: "dead_letters",
  /** Heartbeats and counters published by running programs. */
  pipelineStats: "pipeline_stats",
  /** Website statistics: one rolling document per url and one per url and window. */
  websiteMetrics: "website_metrics",
  /** Website incidents, with the same incident fields as `incidents`. */
  websiteAlerts: "website_alerts",
} as const;
