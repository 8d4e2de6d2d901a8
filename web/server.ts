/** Starting and stopping the dashboard server (used by `main.ts`, `deno task up` and tests). */
import type { MongoClient } from "mongodb";
import {
  BUILTIN_SENSOR_TYPES,
  type CommonConfig,
  createLogger,
  createMongoClient,
  EnvReader,
  loadCommonConfig,
  loadSensorTypesFile,
  type Logger,
  PROCESSOR_GROUP,
  redactUrl,
  Registry,
  type SensorTypes,
} from "@iot/shared";
import { createApp, type WebApp } from "./app.ts";
import { defaultClientAssets } from "./assets.ts";
import { stopBuilder } from "./islands_runtime/build.ts";
import { KafkaMonitor } from "./kafka_monitor.ts";

/** Settings of the dashboard. */
export interface WebConfig {
  host: string;
  port: number;
  allowedOrigins: string[];
  authToken?: string;
  /** The stop on SIGINT/SIGTERM ends within this long (`WEB_STOP_TIMEOUT_MS`), ms. */
  stopTimeoutMs: number;
  /** Described sensor types: the built-in six plus those of `SENSOR_TYPES_FILE`. */
  types: SensorTypes;
  common: CommonConfig;
}

/**
 * Reads the dashboard settings from the environment (flags override host and port).
 * A bad `SENSOR_TYPES_FILE` throws a one-line `SensorTypesError`.
 */
export function loadWebConfig(env: Record<string, string | undefined> = Deno.env.toObject()): WebConfig {
  const r = new EnvReader(env);
  const typesFile = r.optional("SENSOR_TYPES_FILE");
  return {
    host: r.string("WEB_HOST"),
    port: r.int("WEB_PORT", 0, 65535),
    allowedOrigins: r.list("WEB_ALLOWED_ORIGINS"),
    authToken: r.optional("WEB_AUTH_TOKEN"),
    stopTimeoutMs: r.int("WEB_STOP_TIMEOUT_MS", 1000, 3_600_000),
    types: typesFile === undefined ? BUILTIN_SENSOR_TYPES : loadSensorTypesFile(typesFile),
    common: loadCommonConfig(env),
  };
}

/** Options of `startWeb`. */
export interface StartWebOptions {
  /** Settings (default: from the environment). */
  config?: WebConfig;
  /** Overrides of the config's listen address (port 0 = any free port). */
  host?: string;
  port?: number;
  /** An already connected client to use (not closed by `stop()`); otherwise one is created from the config. */
  mongoClient?: MongoClient;
  dbName?: string;
  /** Kafka brokers for pipeline stats; `false` disables Kafka. Default: the config's brokers. */
  kafka?: string[] | false;
  /** Kafka consumer group whose lag is shown. */
  group?: string;
  logger?: Logger;
  registry?: Registry;
  liveMode?: "auto" | "polling";
  /** Build the client bundles before listening (default true). */
  prebuild?: boolean;
}

/** A running dashboard. */
export interface WebHandle {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  url: string;
  port: number;
  web: WebApp;
  /** Graceful stop: closes WebSockets, change streams, Kafka and (if owned) the Mongo client. */
  stop(): Promise<void>;
}

/**
 * Starts the dashboard server: connects to MongoDB (unless given a client),
 * builds the client bundles, listens, and returns a handle whose `stop()`
 * closes WebSockets, change streams, Kafka and the Mongo client it owns.
 *
 * @example
 * ```ts
 * import { startWeb } from "@iot/web";
 *
 * // Settings from the environment (WEB_HOST, WEB_PORT, MONGO_URL, WEB_AUTH_TOKEN, ...), any free port.
 * const web = await startWeb({ port: 0, kafka: false });
 * const health = await (await fetch(`${web.url}/healthz`)).json();
 * console.log(web.url, health.mongo); // http://127.0.0.1:43117 reachable
 * await web.stop();
 * ```
 */
export async function startWeb(options: StartWebOptions = {}): Promise<WebHandle> {
  const config = options.config ?? loadWebConfig();
  const log = options.logger ??
    createLogger({ name: "web", level: config.common.log.level, format: config.common.log.format });
  const registry = options.registry ?? new Registry();
  const ownsClient = !options.mongoClient;
  const client = options.mongoClient ?? createMongoClient(config.common.mongo, { appName: "iot-web" });
  if (ownsClient) {
    log.info("connecting to MongoDB", { url: redactUrl(config.common.mongo.url) });
    await client.connect();
  }
  const db = client.db(options.dbName ?? config.common.mongo.db);
  const brokers = options.kafka === false ? undefined : options.kafka ?? config.common.kafka.brokers;
  const kafka = new KafkaMonitor({
    kafka: brokers ? { ...config.common.kafka, brokers } : undefined,
    topic: config.common.topics.readings,
    group: options.group ?? Deno.env.get("PROCESSOR_GROUP") ?? PROCESSOR_GROUP,
    logger: log.child("kafka"),
  });
  const web = createApp({
    db,
    logger: log,
    registry,
    authToken: config.authToken,
    allowedOrigins: config.allowedOrigins,
    types: config.types,
    kafka,
    liveMode: options.liveMode,
  });
  if (options.prebuild !== false) {
    const t = performance.now();
    const assets = await defaultClientAssets();
    log.info("client bundles built", {
      ms: Math.round(performance.now() - t),
      islands: Object.keys(assets.islands).length,
    });
  }
  const abort = new AbortController();
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: options.host ?? config.host,
    port: options.port ?? config.port,
    signal: abort.signal,
    onListen: (addr) => resolve(addr as Deno.NetAddr),
  }, web.app.fetch);
  const addr = await listening;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${addr.port}`;
  log.info("dashboard listening", { url, auth: config.authToken ? "token" : "none" });
  let stopping: Promise<void> | undefined;
  return {
    url,
    port: addr.port,
    web,
    stop: () =>
      stopping ??= (async () => {
        await web.close();
        abort.abort();
        await server.finished.catch(() => {});
        if (ownsClient) await client.close().catch(() => {});
        await stopBuilder().catch(() => {});
        log.info("dashboard stopped");
      })(),
  };
}
