/**
 * Starts the infrastructure of the pipeline: Kafka (one broker, or a local
 * cluster with `brokers` > 1) and MongoDB, local or given by env, and the
 * pipeline's standard topics, for `deno task services` and `deno task up` alike.
 */
import { createKafka, createLogger, ensureTopics, loadCommonConfig, standardTopics, type TopicSpec } from "@iot/shared";
import { LocalKafka } from "./kafka.ts";
import { LocalKafkaCluster } from "./kafka_cluster.ts";
import { LocalMongo, standInBounds } from "./mongo.ts";

/** The `--brokers` flag of `deno task services` and `deno task up`. */
export const BROKERS_FLAG = {
  type: "number",
  default: 1,
  min: 1,
  max: 9,
  integer: true,
  help: "Local Kafka nodes; 3 = a KRaft cluster (RF 3, min.insync.replicas 2) on the ports from --kafka-port",
} as const;

/** Options of `startServices`. */
export interface StartServicesOptions {
  /** Port of the (first) local broker; a cluster's nodes take the ports after it. */
  kafkaPort?: number;
  /** Local Kafka nodes: 1 (default) a single broker, more a cluster (`LocalKafkaCluster`, RF 3 for 3 or more). */
  brokers?: number;
  mongoPort?: number;
  /** Port of the local broker's JMX exporter `/metrics` (absent: no exporter). */
  kafkaMetricsPort?: number;
  /** Kafka data directory kept between runs. */
  dataDir?: string;
  /** Progress messages. */
  log?: (message: string) => void;
  /** Receives service output lines. */
  onLine?: (service: "kafka" | "mongo", line: string) => void;
  /** Environment to read KAFKA_BROKERS / MONGO_URL, topic names, partitions and the stand-in's bounds from. */
  env?: Record<string, string | undefined>;
}

/** Running services. */
export interface RunningServices {
  kafkaBrokers: string;
  mongoUrl: string;
  /** The local single broker, when one was started. */
  kafka?: LocalKafka;
  /** The local cluster, when `brokers` > 1. */
  kafkaCluster?: LocalKafkaCluster;
  mongo?: LocalMongo;
  /** The standard topics, as ensured at start. */
  topics: TopicSpec[];
  /** Resolves with a message when a service started here exits unexpectedly. */
  failed: Promise<string>;
  /**
   * Stops what was started here (MongoDB, then Kafka last, so that clients can
   * flush), killing what is still running after `deadlineMs` (default 30 s).
   * Resolves with whether something had to be killed.
   */
  stop(deadlineMs?: number): Promise<boolean>;
  /** Kills what was started here at once. */
  kill(): Promise<void>;
}

/** Creates the standard topics (names and partitions from the environment) where missing. */
export async function createStandardTopics(
  brokers: string,
  env: Record<string, string | undefined>,
): Promise<TopicSpec[]> {
  const config = loadCommonConfig({ ...env, KAFKA_BROKERS: brokers });
  const topics = standardTopics(config);
  const kafka = await createKafka(config.kafka, {
    role: "services",
    logger: createLogger({ name: "services", level: "error" }),
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topics);
  } finally {
    await admin.disconnect();
  }
  return topics;
}

/** Starts local Kafka and MongoDB unless KAFKA_BROKERS / MONGO_URL are given, then ensures the standard topics. */
export async function startServices(options: StartServicesOptions = {}): Promise<RunningServices> {
  const env = options.env ?? Deno.env.toObject();
  const log = options.log ?? (() => {});
  let kafka: LocalKafka | undefined;
  let kafkaCluster: LocalKafkaCluster | undefined;
  let mongo: LocalMongo | undefined;
  let stopping = false;
  const started: Promise<void>[] = [];
  const nodes = options.brokers ?? 1;
  if (!env.KAFKA_BROKERS && nodes > 1) {
    const base = options.kafkaPort;
    kafkaCluster = new LocalKafkaCluster({
      nodes,
      ports: base ? Array.from({ length: nodes }, (_, i) => base + i) : undefined,
      dataDir: options.dataDir,
      onLine: options.onLine && ((i, l) => options.onLine!("kafka", `[node ${i}] ${l}`)),
    });
    log(
      `Starting a Kafka ${"4.1.1"} cluster of ${nodes} nodes on ${kafkaCluster.brokers} ` +
        `(replication factor ${kafkaCluster.replicationFactor}, min.insync.replicas ${kafkaCluster.minInsyncReplicas}) ...`,
    );
    started.push(kafkaCluster.start());
  } else if (!env.KAFKA_BROKERS) {
    kafka = new LocalKafka({
      port: options.kafkaPort,
      dataDir: options.dataDir,
      heap: "1g",
      metricsPort: options.kafkaMetricsPort,
      onLine: options.onLine && ((l) => options.onLine!("kafka", l)),
    });
    log(`Starting Kafka ${"4.1.1"} on 127.0.0.1:${kafka.port} ...`);
    started.push(kafka.start());
  } else {
    log(`Using Kafka at ${env.KAFKA_BROKERS} (KAFKA_BROKERS)`);
  }
  if (!env.MONGO_URL) {
    const bounds = standInBounds(env);
    mongo = new LocalMongo({
      port: options.mongoPort,
      heap: bounds.heap,
      oplogRetentionSeconds: bounds.oplogRetentionSeconds,
      oplogMaxEntries: bounds.oplogMaxEntries,
      rawRetentionSeconds: bounds.rawRetentionSeconds,
      retention: bounds,
      log,
      onLine: options.onLine && ((l) => options.onLine!("mongo", l)),
    });
    log(`Starting MongoDB-protocol server on 127.0.0.1:${mongo.port} ...`);
    started.push(mongo.start());
  } else {
    log("Using MongoDB at MONGO_URL");
  }
  const stop = async (deadlineMs = 30_000) => {
    stopping = true;
    const end = Date.now() + deadlineMs;
    // MongoDB stops in a moment; Kafka's controlled shutdown gets the rest of the time.
    const mongoForced = (await mongo?.dispose(Math.max(1000, Math.min(10_000, (end - Date.now()) / 3)))) ?? false;
    const kafkaForced = (await (kafka ?? kafkaCluster)?.dispose(Math.max(1000, end - Date.now()))) ?? false;
    return mongoForced || kafkaForced;
  };
  const kill = async () => {
    stopping = true;
    await Promise.all([mongo?.kill(), (kafka ?? kafkaCluster)?.kill()]);
  };
  const results = await Promise.allSettled(started);
  const failure = results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
  if (failure) {
    await stop();
    throw failure.reason;
  }
  if (mongo) log(`MongoDB ready (${mongo.engine === "java" ? "mongo-java-server, in memory" : "mongod replica set"})`);
  if (kafka || kafkaCluster) log("Kafka ready");
  const kafkaBrokers = (kafka ?? kafkaCluster)?.brokers ?? env.KAFKA_BROKERS!;
  let topics: TopicSpec[];
  try {
    topics = await createStandardTopics(kafkaBrokers, env);
  } catch (e) {
    await stop();
    throw e;
  }
  log(`Topics ready: ${topics.map((t) => `${t.topic} (${t.numPartitions})`).join(", ")}`);
  const failed = new Promise<string>((resolve) => {
    const watch = (name: string, svc?: { running: boolean; tail(n?: number): string }) => {
      if (!svc) return;
      const timer = setInterval(() => {
        if (!stopping && !svc.running) {
          clearInterval(timer);
          resolve(`${name} exited unexpectedly. Last output:\n${svc.tail(20)}`);
        }
        if (stopping) clearInterval(timer);
      }, 500);
    };
    watch("Kafka", kafka ?? kafkaCluster);
    watch("MongoDB", mongo);
  });
  return {
    kafkaBrokers,
    mongoUrl: mongo ? mongo.url : env.MONGO_URL!,
    kafka,
    kafkaCluster,
    mongo,
    topics,
    failed,
    stop,
    kill,
  };
}
