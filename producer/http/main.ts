/**
 * `deno task producer --source http --targets targets.json [flags]`: the HTTP
 * uptime checker. SIGINT/SIGTERM cancel in-flight checks, flush (within the
 * delivery timeout) and exit 0, or 1 if a check was not published; a second
 * signal exits at once with 130.
 */
import {
  createLogger,
  EnvReader,
  type FlagSpec,
  listenForStop,
  loadKafkaSecurity,
  LOG_LEVELS,
  parseBrokers,
  parseFlags,
  stopWithParent,
  TOPICS,
  usage,
  UsageError,
} from "@iot/shared";
import { KafkaConnectionError } from "../kafka/mod.ts";
import { serveProducerMetrics } from "../metrics.ts";
import { startChecker } from "./checker.ts";
import { CheckerMetrics } from "./metrics.ts";
import { loadTargets } from "./targets.ts";

/** The producer's data sources. */
export const SOURCES = ["sensors", "http"] as const;

/** A producer data source. */
export type Source = typeof SOURCES[number];

/** Takes `--source <name>` out of the arguments (default `sensors`). */
export function splitSource(args: readonly string[]): { source: Source; rest: string[] } {
  const rest: string[] = [];
  let source: string = "sensors";
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--source") {
      if (i + 1 >= args.length || args[i + 1].startsWith("--")) throw new UsageError("Flag --source needs a value");
      source = args[++i];
    } else if (a.startsWith("--source=")) source = a.slice("--source=".length);
    else rest.push(a);
  }
  if (!(SOURCES as readonly string[]).includes(source)) {
    throw new UsageError(`Flag --source must be one of ${SOURCES.join(", ")}, got "${source}"`);
  }
  return { source: source as Source, rest };
}

function flagSpecs(env: EnvReader) {
  return {
    targets: { type: "string", help: "JSON file of targets: [{ name, url, category, interval, timeout }]" },
    brokers: { type: "string", default: env.string("KAFKA_BROKERS"), help: "Kafka bootstrap servers host:port,…" },
    topic: { type: "string", default: TOPICS.websiteChecks, help: "Topic of checks" },
    partitions: {
      type: "number",
      default: env.int("KAFKA_PARTITIONS", 1, 1000),
      min: 1,
      max: 1000,
      integer: true,
      help: "Partitions if the topic is created",
    },
    concurrency: { type: "number", default: 8, min: 1, max: 1000, integer: true, help: "Requests in flight at once" },
    duration: { type: "number", default: 0, min: 0, help: "Seconds to run, 0 = until stopped" },
    "metrics-port": {
      type: "number",
      default: env.int("CHECKER_METRICS_PORT", 0, 65535),
      min: 0,
      max: 65535,
      integer: true,
      help: "Port of /metrics and /healthz, 0 = off",
    },
  } satisfies Record<string, FlagSpec>;
}

/** Runs the checker CLI with `args` (without `--source`); returns the exit code. */
export async function httpMain(args: readonly string[]): Promise<number> {
  const env = new EnvReader(Deno.env.toObject());
  const specs = flagSpecs(env);
  const f = parseFlags(args, specs);
  if (f.help) {
    console.log(usage("deno task producer --source http", "Checks HTTP endpoints and publishes each check.", specs));
    return 0;
  }
  if (!f.targets) throw new UsageError("Flag --targets is required with --source http");
  const brokers = parseBrokers(f.brokers, "--brokers");
  if (f.topic.trim() === "") throw new UsageError("Flag --topic must not be empty");
  const security = loadKafkaSecurity(env.env);
  const targets = await loadTargets(f.targets);
  const logger = createLogger({
    name: "checker",
    level: env.oneOf("LOG_LEVEL", LOG_LEVELS),
    format: env.oneOf("LOG_FORMAT", ["pretty", "json"] as const),
  });
  const controller = new AbortController();
  const signals = listenForStop();
  signals.first.then(() => {
    logger.info("Stopping: cancelling checks and flushing");
    controller.abort();
  });
  signals.again.then(() => {
    logger.error("Second signal: exiting at once");
    Deno.exit(130);
  });
  stopWithParent();
  const metrics = new CheckerMetrics();
  let server: Deno.HttpServer | undefined;
  try {
    let handle;
    try {
      handle = await startChecker({
        targets,
        brokers,
        topic: f.topic,
        partitions: f.partitions,
        concurrency: f.concurrency,
        durationS: f.duration || undefined,
        clientId: env.string("KAFKA_CLIENT_ID"),
        security,
        logger,
        signal: controller.signal,
        metrics,
      });
    } catch (e) {
      if (!(e instanceof Error) || !(e instanceof KafkaConnectionError || e.name.startsWith("KafkaJS"))) throw e;
      logger.error("Cannot reach Kafka", { brokers: brokers.join(","), error: e.message });
      return 1;
    }
    if (f["metrics-port"] > 0) {
      const counts = () => handle.result();
      server = serveProducerMetrics({
        port: f["metrics-port"],
        metrics,
        health: () => ({ healthy: !controller.signal.aborted, ...counts() }),
        onListen: () => {},
        logger,
      });
    }
    const result = await handle.done;
    console.log(JSON.stringify({ final: true, ...result }));
    return result.failed > 0 ? 1 : 0;
  } finally {
    await server?.shutdown();
    signals.close();
  }
}
