/** Command-line flags of the producer, with defaults from the environment (see `ENV_VARS`). */
import { EnvReader, type FlagSpec, loadKafkaSecurity, parseBrokers, parseFlags, usage, UsageError } from "@iot/shared";
import type { Acks, ClientKind, Compression, ProducerOptions } from "./producer.ts";

/** Settings of the CLI: the producer's options plus output choices. */
export interface ProducerCli {
  options: ProducerOptions;
  /** One JSON object per stats report on stdout. */
  json: boolean;
  /** Only the final report. */
  quiet: boolean;
  /** `--help` was given: print `text` and exit 0. */
  help: boolean;
  /** Usage text. */
  text: string;
  /** Also append log lines to this file. */
  logFile?: string;
}

const SUMMARY = `Simulates a fleet of IoT sensors and publishes their readings to Kafka at a target rate.

Event times: each reading carries its scheduled measurement time (start + i / rate); after a stall
the backlog keeps the schedule's times (nothing is dropped). At --rate 0 readings carry the time they
are generated at. Either way a sensor's event times strictly increase (1 ms apart at least).
Stop: SIGINT/SIGTERM stop generating and flush within --flush-timeout; the exit code is 1 if any
record was not acknowledged. A second SIGINT exits at once (code 130).`;

function probability(help: string): { type: "number"; default: number; min: number; max: number; help: string } {
  return { type: "number", default: 0, min: 0, max: 1, help };
}

/** The flag specs, with defaults taken from the environment. */
export function producerFlagSpecs(env: EnvReader) {
  return {
    rate: { type: "number", default: env.number("PRODUCER_RATE"), min: 0, help: "Messages per second, 0 = max" },
    duration: { type: "number", default: 0, min: 0, help: "Seconds to run, 0 = until stopped" },
    count: { type: "number", default: 0, min: 0, integer: true, help: "Records to send, 0 = no limit" },
    sensors: {
      type: "number",
      default: env.int("PRODUCER_SENSORS", 1, 1_000_000),
      min: 1,
      max: 1_000_000,
      integer: true,
      help: "Simulated sensors",
    },
    brokers: { type: "string", default: env.string("KAFKA_BROKERS"), help: "Kafka bootstrap servers host:port,…" },
    servers: { type: "string", help: "Alias of --brokers (the reference producer's name)" },
    topic: { type: "string", default: env.string("KAFKA_TOPIC"), help: "Topic of readings" },
    partitions: {
      type: "number",
      default: env.int("KAFKA_PARTITIONS", 1, 1000),
      min: 1,
      max: 1000,
      integer: true,
      help: "Partitions if the topic is created",
    },
    seed: { type: "number", min: 0, max: 4294967295, integer: true, help: "Seed for reproducible readings" },
    "anomaly-rate": { type: "number", default: 0.05, min: 0, max: 1, help: "Probability of an anomaly spike" },
    stuck: probability("Fraction of sensors stuck at a flat value"),
    drift: probability("Fraction of sensors drifting out of band"),
    dropout: probability("Fraction of sensors going silent periodically"),
    "dropout-seconds": { type: "number", default: 30, min: 0.001, help: "Silent/online period of dropout sensors" },
    "out-of-order": probability("Probability of an event time 1–5 s in the past"),
    late: probability("Probability of an event time 60–300 s in the past"),
    duplicates: probability("Probability of sending a reading twice"),
    malformed: probability("Probability of a malformed payload (dead-letter tests)"),
    acks: { type: "string", default: "all", choices: ["all", "1", "0"], help: "Acknowledgement level" },
    idempotent: { type: "boolean", help: "Idempotent producer (default: on with --acks all)" },
    client: {
      type: "string",
      default: "native",
      choices: ["native", "kafkajs"],
      help: "Kafka client library (kafkajs is known to lose acknowledged records on a leader failover)",
    },
    compression: { type: "string", default: "none", choices: ["none", "gzip"], help: "Batch compression" },
    "batch-size": { type: "number", default: 2000, min: 1, max: 100_000, integer: true, help: "Records per send" },
    "max-in-flight": { type: "number", default: 4, min: 1, max: 64, integer: true, help: "Sends in flight" },
    "linger-ms": { type: "number", default: 5, min: 0, max: 10_000, help: "Least wait between batches" },
    retries: {
      type: "number",
      min: 0,
      max: 1_000_000,
      integer: true,
      help: "Retries of a failed batch (default: kafkajs 10; native none, --delivery-timeout bounds it)",
    },
    "delivery-timeout": {
      type: "number",
      default: 120,
      min: 0.1,
      help: "Seconds before an unacknowledged batch fails (native client, like delivery.timeout.ms)",
    },
    "buffer-records": {
      type: "number",
      default: 100_000,
      min: 1,
      integer: true,
      help: "Unacknowledged records at most (a leaderless partition buffers up to this)",
    },
    "stats-interval": { type: "number", default: 10, min: 0, help: "Seconds between stats, 0 = final only" },
    json: { type: "boolean", default: false, help: "Stats as one JSON object per line on stdout" },
    quiet: { type: "boolean", default: false, help: "Only the final stats" },
    "metrics-port": {
      type: "number",
      default: env.int("PRODUCER_METRICS_PORT", 0, 65535),
      min: 0,
      max: 65535,
      integer: true,
      help: "Port of /metrics and /healthz, 0 = off",
    },
    "connect-timeout": { type: "number", default: 30, min: 0.1, help: "Seconds to reach Kafka before giving up" },
    "flush-timeout": {
      type: "number",
      default: env.number("PRODUCER_FLUSH_TIMEOUT_S"),
      min: 0,
      help: "Seconds to flush on stop",
    },
    "log-file": { type: "string", help: "Also append the log lines to this file" },
  } satisfies Record<string, FlagSpec>;
}

/** Parses the producer's arguments; throws `UsageError` / `ConfigError` with a one-line reason. */
export function parseProducerArgs(
  args: readonly string[],
  envVars: Record<string, string | undefined> = Deno.env.toObject(),
): ProducerCli {
  const env = new EnvReader(envVars);
  const specs = producerFlagSpecs(env);
  const text = usage("deno task producer", SUMMARY, specs);
  const f = parseFlags(args, specs);
  if (f.servers !== undefined && args.some((a) => a === "--brokers" || a.startsWith("--brokers="))) {
    throw new UsageError("Give --brokers or --servers, not both");
  }
  const brokers = f.servers !== undefined ? parseBrokers(f.servers, "--servers") : parseBrokers(f.brokers, "--brokers");
  if (f.topic.trim() === "") throw new UsageError("Flag --topic must not be empty");
  const acks = f.acks as Acks;
  if (f.idempotent === true && acks !== "all") throw new UsageError("Flag --idempotent needs --acks all");
  return {
    json: f.json,
    quiet: f.quiet,
    help: f.help,
    text,
    logFile: f["log-file"],
    options: {
      brokers,
      topic: f.topic,
      partitions: f.partitions,
      rate: f.rate,
      sensors: f.sensors,
      durationS: f.duration || undefined,
      count: f.count || undefined,
      seed: f.seed,
      anomalyRate: f["anomaly-rate"],
      scenarios: {
        stuck: f.stuck,
        drift: f.drift,
        dropout: f.dropout,
        dropoutSeconds: f["dropout-seconds"],
        outOfOrder: f["out-of-order"],
        late: f.late,
        duplicates: f.duplicates,
        malformed: f.malformed,
      },
      acks,
      idempotent: f.idempotent ?? acks === "all",
      client: f.client as ClientKind,
      compression: f.compression as Compression,
      batchSize: f["batch-size"],
      maxInFlight: f["max-in-flight"],
      lingerMs: f["linger-ms"],
      retries: f.retries,
      deliveryTimeoutMs: f["delivery-timeout"] * 1000,
      bufferRecords: f["buffer-records"],
      statsIntervalS: f.quiet ? 0 : f["stats-interval"],
      metricsPort: f["metrics-port"] || undefined,
      connectTimeoutMs: f["connect-timeout"] * 1000,
      flushTimeoutMs: f["flush-timeout"] * 1000,
      clientId: env.string("KAFKA_CLIENT_ID"),
      security: loadKafkaSecurity(envVars),
    },
  };
}
