/** MongoDB client factory. */
import { MongoClient, type MongoClientOptions } from "mongodb";
import type { MongoConfig } from "./config.ts";

/** Options of `createMongoClient`. */
export interface CreateMongoOptions {
  /** Application name shown in server logs. */
  appName: string;
  /** Extra driver options. */
  overrides?: MongoClientOptions;
}

/**
 * Creates (does not connect) a MongoDB client. Credentials come from the URL or
 * from MONGO_USERNAME / MONGO_PASSWORD; they are never logged. TLS comes from the
 * URL (`tls=true&tlsCAFile=…`) or from MONGO_TLS, MONGO_TLS_CA_FILE and
 * MONGO_TLS_CERT_KEY_FILE (a file implies TLS).
 */
export function createMongoClient(config: MongoConfig, options: CreateMongoOptions): MongoClient {
  const opts: MongoClientOptions = {
    appName: options.appName,
    serverSelectionTimeoutMS: 10_000,
    connectTimeoutMS: 5_000,
    maxPoolSize: 20,
    retryWrites: false,
    ...options.overrides,
  };
  if (config.tls || config.tlsCAFile || config.tlsCertificateKeyFile) opts.tls = true;
  if (config.tlsCAFile) opts.tlsCAFile = config.tlsCAFile;
  if (config.tlsCertificateKeyFile) opts.tlsCertificateKeyFile = config.tlsCertificateKeyFile;
  if (config.username) {
    opts.auth = { username: config.username, password: config.password ?? "" };
    if (config.authSource) opts.authSource = config.authSource;
  }
  return new MongoClient(config.url, opts);
}

/** MongoDB's duplicate-key error code. */
export const DUPLICATE_KEY = 11000;

/** The write errors of a MongoDB (bulk) write error, as a list; empty when it carries none. */
export function writeErrorsOf(error: unknown): { code?: number; index?: number }[] {
  const we = (error as { writeErrors?: unknown })?.writeErrors;
  if (!we) return [];
  return (Array.isArray(we) ? we : [we]) as { code?: number; index?: number }[];
}

/**
 * Whether a (bulk) write error is made only of duplicate-key errors, i.e. every
 * failed document already exists under its `_id` or unique key. The one place
 * that knows the code 11000.
 */
export function isOnlyDuplicateKeys(error: unknown): boolean {
  const errs = writeErrorsOf(error);
  if (errs.length === 0) return (error as { code?: number })?.code === DUPLICATE_KEY;
  return errs.every((x) => x.code === DUPLICATE_KEY);
}
