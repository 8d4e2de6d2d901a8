/** Typed errors shared by the programs. */

/** A configuration value (environment variable) is invalid. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** A command-line flag is unknown or has an invalid value. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A service did not become ready in time. */
export class ServiceStartError extends Error {
  override name = "ServiceStartError";
}

/**
 * Whether an error says Kafka refused our credentials or certificates (the native client's
 * `KafkaAuthenticationError`, kafkajs's SASL error): retrying cannot help, and one line says it all.
 */
export function isKafkaAuthenticationError(e: unknown): e is Error {
  return e instanceof Error && (e.name === "KafkaAuthenticationError" || e.name === "KafkaJSSASLAuthenticationError");
}
