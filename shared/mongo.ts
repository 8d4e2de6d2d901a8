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
 * from MONGO_USERNAME / MONGO_PASSWORD; they are never logged.
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
  if (config.username) {
    opts.auth = { username: config.username, password: config.password ?? "" };
    if (config.authSource) opts.authSource = config.authSource;
  }
  return new MongoClient(config.url, opts);
}
