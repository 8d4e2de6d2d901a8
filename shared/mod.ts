/**
 * Shared code of the IoT pipeline: message and document types, schemas,
 * names, configuration, logging, metrics, and Kafka / MongoDB clients.
 * @module
 */
export * from "./names.ts";
export * from "./sensors.ts";
export * from "./reading.ts";
export * from "./sensor_types.ts";
export * from "./documents.ts";
export * from "./website.ts";
export * from "./errors.ts";
export * from "./config.ts";
export * from "./secrets.ts";
export * from "./cli.ts";
export * from "./log.ts";
export * from "./metrics.ts";
export * from "./kafka.ts";
export * from "./mongo.ts";
export * from "./mongo_schema.ts";
export * from "./retry.ts";
export * from "./stop_signals.ts";
