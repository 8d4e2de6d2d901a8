/** Kafka client factory and topic helpers (kafkajs). */
import {
  type Admin,
  type ITopicConfig,
  Kafka,
  type KafkaConfig as KafkaJsConfig,
  logLevel,
  type SASLOptions,
} from "kafkajs";
import type { CommonConfig, KafkaConfig, KafkaSecurity } from "./config.ts";
import type { Logger } from "./log.ts";
import { TOPICS } from "./names.ts";
import { retry } from "./retry.ts";

/** Options of `createKafka`. */
export interface CreateKafkaOptions {
  /** Suffix of the client id, e.g. "producer". */
  role: string;
  logger: Logger;
  /** Overrides of kafkajs settings (retry, timeouts). */
  overrides?: Partial<KafkaJsConfig>;
}

const LEVELS: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

// Errors kafkajs logs at ERROR level although it retries them itself.
const TRANSIENT =
  /coordinator is loading|coordinator is not available|not the correct coordinator|leadership election|There is no leader|rebalanc|^Closed connection$/i;

// kafkajs logs a refused SASL login at ERROR level on three layers before it throws it.
const REFUSED = /SASL .*authentication failed|Authentication failed during authentication/i;

// kafkajs schedules timers with negative delays, which Deno's Node layer
// reports as a TimeoutNegativeWarning on stderr; the delay is clamped to 1 ms
// either way, so the warning is noise. Other warnings still print.
let warningFilterInstalled = false;
async function installWarningFilter(): Promise<void> {
  if (warningFilterInstalled) return;
  warningFilterInstalled = true;
  const { default: process } = await import("node:process");
  const original = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const name = typeof warning === "string" ? String(rest[0] ?? "") : warning.name;
    if (name === "TimeoutNegativeWarning") return;
    (original as (...a: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
}

/** kafkajs's `ssl` and `sasl` settings for our TLS and SASL settings (empty when neither is set). */
export function kafkaJsSecurity(security: KafkaSecurity): Pick<KafkaJsConfig, "ssl" | "sasl"> {
  const out: Pick<KafkaJsConfig, "ssl" | "sasl"> = {};
  if (security.tls) {
    const { ca, cert, key } = security.tls;
    out.ssl = { rejectUnauthorized: true, ...(ca ? { ca: [ca] } : {}), ...(cert ? { cert, key } : {}) };
  }
  if (security.sasl) {
    const { mechanism, username, password } = security.sasl;
    out.sasl = { mechanism, username, password } as SASLOptions;
  }
  return out;
}

/** Creates a kafkajs client whose logs go to our logger, with the config's TLS and SASL settings. */
export async function createKafka(config: KafkaConfig, options: CreateKafkaOptions): Promise<Kafka> {
  await installWarningFilter();
  // Our producers choose their partitioner explicitly; the v2 migration notice is noise.
  try {
    Deno.env.set("KAFKAJS_NO_PARTITIONER_WARNING", "1");
  } catch { /* no env permission: the notice stays */ }
  const log = options.logger.child("kafka");
  return new Kafka({
    clientId: `${config.clientId}-${options.role}`,
    brokers: config.brokers,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5000 },
    logLevel: log.enabled("debug") ? logLevel.DEBUG : logLevel.WARN,
    logCreator: () => ({ namespace, level, log: entry }) => {
      const { message, timestamp: _t, logger: _l, ...fields } = entry;
      let lvl = LEVELS[level] ?? "info";
      if (lvl === "error" && TRANSIENT.test(String(fields.error ?? message))) lvl = "debug";
      // A refused login reaches the caller as an error, which reports it once.
      if (lvl === "error" && REFUSED.test(String(fields.error ?? message))) lvl = "debug";
      log[lvl](namespace ? `${namespace}: ${message}` : String(message), fields);
    },
    ...kafkaJsSecurity(config),
    ...options.overrides,
  });
}

/** A topic the pipeline needs, with its partitions and configs. */
export interface TopicSpec {
  topic: string;
  numPartitions: number;
  configs?: Record<string, string>;
}

/** How long `ensureTopics` waits for every partition of the topics it created to have a leader. */
const TOPIC_LEADERS_DEADLINE_MS = 60_000;

/**
 * Creates missing topics (existing ones are left as they are) and waits until each of their partitions has a
 * leader. Returns the names created.
 */
export async function ensureTopics(admin: Admin, topics: TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return [];
  const specs: ITopicConfig[] = missing.map((t) => ({
    topic: t.topic,
    numPartitions: t.numPartitions,
    replicationFactor: -1,
    configEntries: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
  }));
  try {
    await admin.createTopics({ topics: specs, waitForLeaders: false });
  } catch (e) {
    // Another process may have created it between list and create.
    if (!/already exists/i.test(String((e as Error).message))) throw e;
  }
  const names = missing.map((t) => t.topic);
  await waitForLeaders(admin, names);
  return names;
}

/**
 * Waits until every partition of `topics` has a leader. A broker that has just joined may not know a new topic
 * yet and answer "does not host this topic-partition" (kafkajs's own wait throws on that), so any metadata error
 * is retried until the deadline.
 */
async function waitForLeaders(admin: Admin, topics: string[]): Promise<void> {
  await retry(async () => {
    const { topics: found } = await admin.fetchTopicMetadata({ topics });
    const waiting = found.filter((t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0));
    const known = new Set(found.map((t) => t.name));
    const pending = [...topics.filter((t) => !known.has(t)), ...waiting.map((t) => t.name)];
    if (pending.length) throw new Error(`Topics without a leader for every partition yet: ${pending.join(", ")}`);
  }, { deadlineMs: TOPIC_LEADERS_DEADLINE_MS, initialMs: 100, maxMs: 1000 });
}

/**
 * The topics every deployment needs, with their partition counts: sensor readings, dead letters and
 * website checks get `partitions` (KAFKA_PARTITIONS), alert and statistics topics one partition.
 * `deno task services`, `deno task up` and the compose stack create exactly these.
 *
 * @example
 * ```ts
 * await ensureTopics(admin, standardTopics(loadCommonConfig()));
 * ```
 */
export function standardTopics(config: Pick<CommonConfig, "topics" | "partitions">): TopicSpec[] {
  return [
    { topic: config.topics.readings, numPartitions: config.partitions },
    { topic: config.topics.deadLetters, numPartitions: config.partitions },
    { topic: config.topics.alerts, numPartitions: 1 },
    { topic: TOPICS.websiteChecks, numPartitions: config.partitions },
    { topic: TOPICS.websiteAlerts, numPartitions: 1 },
    { topic: TOPICS.websiteStatistics, numPartitions: 1 },
  ];
}
