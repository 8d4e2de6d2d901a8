/** Kafka topic, consumer group and MongoDB collection names: the one place they are defined. */

/** Kafka topics used by the pipeline. */
export const TOPICS = {
  /** Sensor readings, keyed by sensor id. */
  readings: "sensor-data",
  /** Records the processor could not accept, with the reason and origin. */
  deadLetters: "sensor-data.dlq",
  /** New and resolved alerts. */
  alerts: "sensor-alerts",
  /** HTTP uptime checks, keyed by url. */
  websiteChecks: "website-checks",
  /** New and resolved website alerts, keyed by url. */
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
  /** Alerts with their lifecycle (firing, resolved, acknowledged). */
  alerts: "anomaly_alerts",
  /** Latest dead letters (a capped copy of what went to the DLQ topic). */
  deadLetters: "dead_letters",
  /** Heartbeats and counters published by running programs. */
  pipelineStats: "pipeline_stats",
  /** Website statistics: one rolling document per url and one per url and window. */
  websiteMetrics: "website_metrics",
  /** Website alerts, with the same lifecycle fields as `anomaly_alerts`. */
  websiteAlerts: "website_alerts",
} as const;
