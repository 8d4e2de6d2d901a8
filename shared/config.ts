/**
 * Configuration from the environment: the one documented list of variables,
 * and typed readers that fail with a clear message on bad values.
 * Command-line flags (see `cli.ts`) override these per program.
 */
import { ConfigError } from "./errors.ts";
import { LOG_LEVELS, type LogFormat, type LogLevel } from "./log.ts";
import { DEFAULT_DB, TOPICS } from "./names.ts";
import { refuseExampleSecret } from "./secrets.ts";

/** One environment variable the programs read. */
export interface EnvVarDoc {
  name: string;
  default: string;
  description: string;
  /** Which programs read it. */
  used_by: string;
  /** A secret: never logged, never baked into images. */
  secret?: boolean;
}

/** Every environment variable, with its default and meaning. README and `.env.example` list the same. */
export const ENV_VARS: readonly EnvVarDoc[] = [
  {
    name: "KAFKA_BROKERS",
    default: "127.0.0.1:9092",
    description: "Comma-separated Kafka bootstrap servers",
    used_by: "all",
  },
  { name: "KAFKA_CLIENT_ID", default: "iot-pipeline", description: "Prefix of Kafka client ids", used_by: "all" },
  {
    name: "KAFKA_TOPIC",
    default: TOPICS.readings,
    description: "Topic of sensor readings",
    used_by: "producer, processor",
  },
  { name: "KAFKA_DLQ_TOPIC", default: TOPICS.deadLetters, description: "Dead-letter topic", used_by: "processor" },
  {
    name: "KAFKA_ALERTS_TOPIC",
    default: TOPICS.alerts,
    description: "Topic of incident announcements (opened, updated, resolved)",
    used_by: "processor",
  },
  {
    name: "KAFKA_PARTITIONS",
    default: "3",
    description: "Partitions when a topic has to be created",
    used_by: "producer, processor",
  },
  {
    name: "KAFKA_SSL",
    default: "false",
    description: "true: connect to Kafka over TLS (SSL or SASL_SSL listeners)",
    used_by: "all",
  },
  {
    name: "KAFKA_SSL_CA_FILE",
    default: "",
    description: "PEM file of the CA that signed the brokers' certificates (default: the system's roots)",
    used_by: "all",
  },
  {
    name: "KAFKA_SSL_CERT_FILE",
    default: "",
    description: "PEM client certificate (mutual TLS), with KAFKA_SSL_KEY_FILE",
    used_by: "all",
  },
  {
    name: "KAFKA_SSL_KEY_FILE",
    default: "",
    description: "PEM private key of KAFKA_SSL_CERT_FILE (unencrypted)",
    used_by: "all",
    secret: true,
  },
  {
    name: "KAFKA_SASL_MECHANISM",
    default: "",
    description: "plain, scram-sha-256 or scram-sha-512 (empty: no SASL)",
    used_by: "all",
  },
  { name: "KAFKA_SASL_USERNAME", default: "", description: "SASL user", used_by: "all" },
  { name: "KAFKA_SASL_PASSWORD", default: "", description: "SASL password", used_by: "all", secret: true },
  {
    name: "MONGO_URL",
    default: "mongodb://127.0.0.1:27017",
    description: "MongoDB connection string (may hold credentials)",
    used_by: "processor, web",
    secret: true,
  },
  { name: "MONGO_DB", default: DEFAULT_DB, description: "Database name", used_by: "processor, web" },
  {
    name: "MONGO_USERNAME",
    default: "",
    description: "MongoDB user, when not in MONGO_URL",
    used_by: "processor, web",
  },
  {
    name: "MONGO_PASSWORD",
    default: "",
    description: "MongoDB password, when not in MONGO_URL",
    used_by: "processor, web",
    secret: true,
  },
  {
    name: "MONGO_AUTH_SOURCE",
    default: "",
    description: "Authentication database (default: the driver's)",
    used_by: "processor, web",
  },
  {
    name: "MONGO_TLS",
    default: "false",
    description: "true: connect to MongoDB over TLS (same as tls=true in MONGO_URL)",
    used_by: "processor, web",
  },
  {
    name: "MONGO_TLS_CA_FILE",
    default: "",
    description: "PEM file of the CA that signed the MongoDB server's certificate (tlsCAFile)",
    used_by: "processor, web",
  },
  {
    name: "MONGO_TLS_CERT_KEY_FILE",
    default: "",
    description: "PEM client certificate and key in one file, x.509 or mutual TLS (tlsCertificateKeyFile)",
    used_by: "processor, web",
    secret: true,
  },
  { name: "LOG_LEVEL", default: "info", description: "debug, info, warn or error", used_by: "all" },
  {
    name: "LOG_FORMAT",
    default: "pretty",
    description: "pretty (terminal) or json (one object per line)",
    used_by: "all",
  },
  {
    name: "PRODUCER_RATE",
    default: "1000",
    description: "Messages per second (0 = as fast as possible)",
    used_by: "producer",
  },
  { name: "PRODUCER_SENSORS", default: "1000", description: "Number of simulated sensors", used_by: "producer" },
  {
    name: "PRODUCER_METRICS_PORT",
    default: "0",
    description: "Port of the producer's /metrics and /healthz (0 = off)",
    used_by: "producer",
  },
  {
    name: "PRODUCER_FLUSH_TIMEOUT_S",
    default: "30",
    description: "Seconds the producer flushes on stop before it gives up (exit 1 if records were abandoned)",
    used_by: "producer",
  },
  {
    name: "CHECKER_METRICS_PORT",
    default: "0",
    description: "Port of the HTTP checker's /metrics and /healthz (`--source http`; 0 = off)",
    used_by: "producer",
  },
  { name: "PROCESSOR_GROUP", default: "iot-processor", description: "Kafka consumer group", used_by: "processor" },
  {
    name: "PROCESSOR_METRICS_PORT",
    default: "9101",
    description: "Port of the processor's /metrics and /healthz (0 = off)",
    used_by: "processor",
  },
  {
    name: "PROCESSOR_WINDOWS",
    default: "10,60",
    description: "Tumbling window sizes in seconds",
    used_by: "processor",
  },
  {
    name: "PROCESSOR_ALLOWED_LATENESS_MS",
    default: "10000",
    description: "Allowed lateness behind the watermark",
    used_by: "processor",
  },
  {
    name: "PROCESSOR_FLUSH_MS",
    default: "2000",
    description: "How often per-sensor windows and alerts are written and offsets committed (freshness vs. load)",
    used_by: "processor",
  },
  {
    name: "PROCESSOR_LIVE_FLUSH_MS",
    default: "100",
    description: "How often the type × location windows the dashboard shows are written in between (0 = off)",
    used_by: "processor",
  },
  {
    name: "PROCESSOR_FETCH_WAIT_MS",
    default: "25",
    description: "A fetch waits up to this long for 1 MiB of records: fewer, larger batches (0 = at once)",
    used_by: "processor",
  },
  {
    name: "PROCESSOR_STOP_TIMEOUT_MS",
    default: "30000",
    description: "A stop (SIGINT/SIGTERM) ends within this long; unfinished work is re-read at the next start",
    used_by: "processor",
  },
  {
    name: "PROCESSOR_INCIDENT_RULES",
    default: "",
    description:
      'JSON of per-rule incident timings over the defaults, e.g. {"threshold":{"for":{"readings":3}},"silence":{"clear":{"ms":30000}}}',
    used_by: "processor",
  },
  {
    name: "ALERT_WEBHOOK_URL",
    default: "",
    description: "When set, incident announcements are also POSTed there (Alertmanager-like JSON, retried)",
    used_by: "processor",
  },
  {
    name: "RAW_RETENTION_DAYS",
    default: "7",
    description: "Days raw readings and anomaly events are kept (TTL index plus a cleanup job)",
    used_by: "processor",
  },
  {
    name: "READING_MAX_FUTURE_MS",
    default: "3600000",
    description:
      "How far ahead of the processor's clock a reading's event time may be (ms); later ones are dead-lettered",
    used_by: "processor",
  },
  {
    name: "SENSOR_TYPES_FILE",
    default: "",
    description: "JSON file describing more sensor types (unit, physical range, normal band), checked at start",
    used_by: "processor",
  },
  { name: "WEB_HOST", default: "127.0.0.1", description: "Address the dashboard listens on", used_by: "web" },
  { name: "WEB_PORT", default: "8000", description: "Port of the dashboard", used_by: "web" },
  {
    name: "WEB_STOP_TIMEOUT_MS",
    default: "30000",
    description: "A stop (SIGINT/SIGTERM) ends within this long, or the dashboard exits 1",
    used_by: "web",
  },
  {
    name: "WEB_ALLOWED_ORIGINS",
    default: "",
    description: "Extra origins allowed to open the WebSocket (comma-separated)",
    used_by: "web",
  },
  {
    name: "WEB_AUTH_TOKEN",
    default: "",
    description: "When set, acknowledging incidents and changing silences require this bearer token",
    used_by: "web",
    secret: true,
  },
];

/** Reads typed values from an environment map. */
export class EnvReader {
  constructor(readonly env: Record<string, string | undefined>) {}

  #raw(name: string): string {
    const v = this.env[name];
    if (v !== undefined && v.trim() !== "") return v.trim();
    const doc = ENV_VARS.find((d) => d.name === name);
    if (!doc) throw new ConfigError(`Unknown configuration variable ${name}`);
    return doc.default;
  }

  /** A string, with the documented default. */
  string(name: string): string {
    return this.#raw(name);
  }

  /** A string or undefined when empty. */
  optional(name: string): string | undefined {
    const v = this.#raw(name);
    return v === "" ? undefined : v;
  }

  /** An integer within bounds. */
  int(name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.#raw(name);
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${v}"`);
    }
    return n;
  }

  /** A number within bounds. */
  number(name: string, min = 0, max = Number.MAX_VALUE): number {
    const v = this.#raw(name);
    const n = Number(v);
    if (v === "" || !Number.isFinite(n) || n < min || n > max) {
      throw new ConfigError(`${name} must be a number from ${min} to ${max}, got "${v}"`);
    }
    return n;
  }

  /** A comma-separated list, empty entries dropped. */
  list(name: string): string[] {
    return this.#raw(name).split(",").map((s) => s.trim()).filter((s) => s !== "");
  }

  /** One of a fixed set of values. */
  oneOf<T extends string>(name: string, values: readonly T[]): T {
    const v = this.#raw(name);
    if (!(values as readonly string[]).includes(v)) {
      throw new ConfigError(`${name} must be one of ${values.join(", ")}, got "${v}"`);
    }
    return v as T;
  }
}

/** SASL mechanisms the Kafka clients speak. */
export const SASL_MECHANISMS = ["plain", "scram-sha-256", "scram-sha-512"] as const;
/** A SASL mechanism, lower case as kafkajs names it. */
export type SaslMechanism = typeof SASL_MECHANISMS[number];

/** SASL credentials for Kafka. */
export interface KafkaSasl {
  mechanism: SaslMechanism;
  username: string;
  password: string;
}

/** TLS to Kafka: PEM texts (read from the `KAFKA_SSL_*_FILE` files), each optional. */
export interface KafkaTls {
  /** CA certificate(s) that signed the brokers' certificates; absent: the system's roots. */
  ca?: string;
  /** Client certificate chain (mutual TLS), with `key`. */
  cert?: string;
  /** Private key of `cert`. */
  key?: string;
}

/** How the Kafka clients secure their connections: TLS, SASL, both or neither. */
export interface KafkaSecurity {
  tls?: KafkaTls;
  sasl?: KafkaSasl;
}

/** Kafka connection settings. */
export interface KafkaConfig extends KafkaSecurity {
  brokers: string[];
  clientId: string;
}

/** MongoDB connection settings. */
export interface MongoConfig {
  url: string;
  db: string;
  username?: string;
  password?: string;
  authSource?: string;
  /** TLS on (MONGO_TLS); `tls=true` in the URL does the same. */
  tls?: boolean;
  /** Path of the CA file (MONGO_TLS_CA_FILE). */
  tlsCAFile?: string;
  /** Path of the client certificate-and-key file (MONGO_TLS_CERT_KEY_FILE). */
  tlsCertificateKeyFile?: string;
}

/** Settings common to every program. */
export interface CommonConfig {
  kafka: KafkaConfig;
  mongo: MongoConfig;
  topics: { readings: string; deadLetters: string; alerts: string };
  partitions: number;
  log: { level: LogLevel; format: LogFormat };
}

/** Parses a broker list "host:port,host:port", failing on malformed entries. */
export function parseBrokers(value: string, source = "KAFKA_BROKERS"): string[] {
  const brokers = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (brokers.length === 0) throw new ConfigError(`${source} must name at least one broker`);
  for (const b of brokers) {
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(b);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new ConfigError(`${source} entry "${b}" must be host:port`);
    }
  }
  return brokers;
}

function boolean(r: EnvReader, name: string): boolean {
  return r.oneOf(name, ["true", "false"] as const) === "true";
}

/** Reads a PEM file named by variable `name`; fails with a one-line reason naming the variable. */
function pemFile(r: EnvReader, name: string): string | undefined {
  const path = r.optional(name);
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new ConfigError(`${name} cannot be read: ${(e as Error).message}`);
  }
  if (!text.includes("-----BEGIN ")) throw new ConfigError(`${name} (${path}) holds no PEM block`);
  return text;
}

/** Checks that a file named by variable `name` is readable; returns its path. */
function readableFile(r: EnvReader, name: string): string | undefined {
  const path = r.optional(name);
  if (path === undefined) return undefined;
  try {
    Deno.statSync(path);
  } catch (e) {
    throw new ConfigError(`${name} cannot be read: ${(e as Error).message}`);
  }
  return path;
}

/**
 * Kafka's TLS and SASL settings from `KAFKA_SSL`, `KAFKA_SSL_*_FILE` and `KAFKA_SASL_*`: the PEM files are
 * read here, and inconsistent settings (a CA file without `KAFKA_SSL=true`, a mechanism without a user) fail
 * with a one-line `ConfigError` naming the variable.
 *
 * @example
 * ```ts
 * const security = loadKafkaSecurity(Deno.env.toObject()); // {} when nothing is set
 * ```
 */
export function loadKafkaSecurity(env: Record<string, string | undefined>): KafkaSecurity {
  const r = new EnvReader(env);
  const out: KafkaSecurity = {};
  const ssl = boolean(r, "KAFKA_SSL");
  const files = ["KAFKA_SSL_CA_FILE", "KAFKA_SSL_CERT_FILE", "KAFKA_SSL_KEY_FILE"];
  const given = files.filter((f) => r.optional(f) !== undefined);
  if (!ssl && given.length) throw new ConfigError(`${given[0]} is set but KAFKA_SSL is not true`);
  if (ssl) {
    const [ca, cert, key] = files.map((f) => pemFile(r, f));
    if ((cert === undefined) !== (key === undefined)) {
      throw new ConfigError("KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE must be given together");
    }
    out.tls = { ca, cert, key };
  }
  const raw = r.optional("KAFKA_SASL_MECHANISM")?.toLowerCase();
  const username = r.optional("KAFKA_SASL_USERNAME");
  const password = env.KAFKA_SASL_PASSWORD ?? ""; // not trimmed: spaces may belong to a password
  if (raw === undefined) {
    if (username !== undefined || password !== "") {
      throw new ConfigError("KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD are set but KAFKA_SASL_MECHANISM is not");
    }
    return out;
  }
  if (!(SASL_MECHANISMS as readonly string[]).includes(raw)) {
    throw new ConfigError(`KAFKA_SASL_MECHANISM must be one of ${SASL_MECHANISMS.join(", ")}, got "${raw}"`);
  }
  if (username === undefined) throw new ConfigError(`KAFKA_SASL_MECHANISM is ${raw} but KAFKA_SASL_USERNAME is empty`);
  if (password === "") throw new ConfigError(`KAFKA_SASL_MECHANISM is ${raw} but KAFKA_SASL_PASSWORD is empty`);
  out.sasl = { mechanism: raw as SaslMechanism, username, password };
  return out;
}

/** Kafka's name of a client's security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL. */
export function securityProtocol(security: KafkaSecurity): string {
  if (security.sasl) return security.tls ? "SASL_SSL" : "SASL_PLAINTEXT";
  return security.tls ? "SSL" : "PLAINTEXT";
}

/** Loads the common settings from the environment (default: the process environment). */
export function loadCommonConfig(env: Record<string, string | undefined> = Deno.env.toObject()): CommonConfig {
  const r = new EnvReader(env);
  const url = r.string("MONGO_URL");
  if (!/^mongodb(\+srv)?:\/\//.test(url)) {
    throw new ConfigError(`MONGO_URL must start with mongodb:// or mongodb+srv://`);
  }
  refuseExampleSecret("MONGO_URL", url);
  refuseExampleSecret("MONGO_PASSWORD", env.MONGO_PASSWORD);
  return {
    kafka: {
      brokers: parseBrokers(r.string("KAFKA_BROKERS")),
      clientId: r.string("KAFKA_CLIENT_ID"),
      ...loadKafkaSecurity(env),
    },
    mongo: {
      url,
      db: r.string("MONGO_DB"),
      username: r.optional("MONGO_USERNAME"),
      password: r.optional("MONGO_PASSWORD"),
      authSource: r.optional("MONGO_AUTH_SOURCE"),
      tls: boolean(r, "MONGO_TLS") || undefined,
      tlsCAFile: readableFile(r, "MONGO_TLS_CA_FILE"),
      tlsCertificateKeyFile: readableFile(r, "MONGO_TLS_CERT_KEY_FILE"),
    },
    topics: {
      readings: r.string("KAFKA_TOPIC"),
      deadLetters: r.string("KAFKA_DLQ_TOPIC"),
      alerts: r.string("KAFKA_ALERTS_TOPIC"),
    },
    partitions: r.int("KAFKA_PARTITIONS", 1, 1000),
    log: { level: r.oneOf("LOG_LEVEL", LOG_LEVELS), format: r.oneOf("LOG_FORMAT", ["pretty", "json"] as const) },
  };
}

/** Hides the password of a connection string for logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]+)@/, "//$1:***@");
}
