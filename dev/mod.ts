/**
 * Local services for development and tests: Apache Kafka (KRaft) and a
 * MongoDB-protocol server, started from Maven Central jars with Java 17.
 * @module
 */
export * from "./jars.ts";
export * from "./kafka.ts";
export * from "./kafka_cluster.ts";
export * from "./mongo.ts";
export * from "./process.ts";
export * from "./paths.ts";
