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
