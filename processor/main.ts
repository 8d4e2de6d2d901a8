/**
 * `deno task processor [flags]`: runs one stream-processor instance until
 * SIGINT/SIGTERM, then stops gracefully within `--stop-timeout-ms` (exit 1
 * when work was abandoned); a second signal exits at once. The sensor path and
 * the website handler publish through one native-client publisher.
 */
import {
  createLogger,
  type FlagSpec,
  listenForStop,
  parseFlags,
  runMain,
  stopWithin,
  stopWithParent,
  usage,
} from "@iot/shared";
import { loadProcessorConfig, type ProcessorFlags } from "./config.ts";
import { NativePublisher, startProcessor } from "./mod.ts";
import { startWebsiteProcessor, type WebsiteProcessorHandle } from "./websites/mod.ts";

const FLAGS = {
  brokers: { type: "string", help: "Kafka bootstrap servers host:port,... (env KAFKA_BROKERS)" },
  "mongo-url": { type: "string", help: "MongoDB connection string (env MONGO_URL)" },
  group: { type: "string", help: "Consumer group (env PROCESSOR_GROUP)" },
  "metrics-port": {
    type: "number",
    integer: true,
    min: 0,
    max: 65535,
    help: "Port of /metrics and /healthz, 0 = off (env PROCESSOR_METRICS_PORT)",
  },
  instance: { type: "string", help: "Instance name in pipeline_stats (default host-pid)" },
  "stop-timeout-ms": {
    type: "number",
    integer: true,
    min: 1000,
    max: 3_600_000,
    help: "A stop ends within this long; unfinished work is re-read at the next start (env PROCESSOR_STOP_TIMEOUT_MS)",
  },
  "consume-only": { type: "boolean", default: false, help: "Decode and validate only, write nothing (baseline)" },
  websites: { type: "boolean", default: true, help: "Also consume website checks (group iot-processor-websites)" },
  "website-response-ms": { type: "number", default: 3000, min: 1, help: "HIGH_RESPONSE_TIME above this avg (ms)" },
  "website-uptime-pct": { type: "number", default: 95, min: 0, max: 100, help: "LOW_UPTIME below this uptime (%)" },
} satisfies Record<string, FlagSpec>;

if (import.meta.main) {
  runMain(async () => {
    const flags = parseFlags(Deno.args, FLAGS);
    if (flags.help) {
      console.log(usage("deno task processor", "Consumes sensor readings and writes MongoDB.", FLAGS));
      return 0;
    }
    const overrides: ProcessorFlags = {
      brokers: flags.brokers,
      mongoUrl: flags["mongo-url"],
      group: flags.group,
      metricsPort: flags["metrics-port"],
      consumeOnly: flags["consume-only"],
      instance: flags.instance,
      stopTimeoutMs: flags["stop-timeout-ms"],
    };
    const config = loadProcessorConfig(Deno.env.toObject(), overrides);
    const logger = createLogger({ name: "processor", level: config.log.level, format: config.log.format });
    const publisher = new NativePublisher({ kafka: config.kafka, logger });
    const handle = await startProcessor({ ...config, logger, publisher });
    if (handle.metricsPort) logger.info("Serving /metrics and /healthz", { port: handle.metricsPort });
    // The website handler is a separate consumer, started in the background: its failure to start
    // (or a slow start) leaves the sensor path and the signal handling untouched.
    const websites: Promise<WebsiteProcessorHandle | undefined> = flags.websites && !config.consumeOnly
      ? startWebsiteProcessor({
        kafka: config.kafka,
        mongo: config.mongo,
        partitions: config.partitions,
        logger,
        metrics: handle.metrics.websites,
        publisher,
        rules: { responseTimeMs: flags["website-response-ms"], minUptimePct: flags["website-uptime-pct"] },
      }).catch((e) => {
        logger.error("Website handler not started", { error: e });
        return undefined;
      })
      : Promise.resolve(undefined);
    const deadline = config.stopTimeoutMs;
    const stopWebsites = () =>
      Promise.race([
        websites.then((w) => w?.stop()),
        new Promise((r) => setTimeout(r, Math.max(1000, deadline - 2000))),
      ]);
    // The first SIGINT/SIGTERM stops within the deadline; a second one exits at once (uncommitted records are
    // read again at the next start).
    const signals = listenForStop();
    stopWithParent();
    await signals.first;
    const code = await stopWithin(async () => {
      const [sensor] = await Promise.allSettled([handle.stop(), stopWebsites()]);
      publisher.close();
      return sensor.status === "fulfilled" && !sensor.value.abandoned;
    }, { deadlineMs: deadline, again: signals.again, logger });
    return code;
  });
}
