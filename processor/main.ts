/**
 * `deno task processor [flags]`: runs one stream-processor instance until
 * SIGINT/SIGTERM, then stops gracefully.
 */
import { createLogger, type FlagSpec, parseFlags, runMain, usage } from "@iot/shared";
import { loadProcessorConfig, type ProcessorFlags } from "./config.ts";
import { startProcessor } from "./mod.ts";

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
  "consume-only": { type: "boolean", default: false, help: "Decode and validate only, write nothing (baseline)" },
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
    };
    const config = loadProcessorConfig(Deno.env.toObject(), overrides);
    const logger = createLogger({ name: "processor", level: config.log.level, format: config.log.format });
    const handle = await startProcessor({ ...config, logger });
    if (handle.metricsPort) logger.info("Serving /metrics and /healthz", { port: handle.metricsPort });
    const stopped = new Promise<void>((resolve) => {
      let stopping = false;
      const onSignal = () => {
        if (stopping) return;
        stopping = true;
        handle.stop().finally(resolve);
      };
      Deno.addSignalListener("SIGINT", onSignal);
      Deno.addSignalListener("SIGTERM", onSignal);
    });
    await stopped;
    return 0;
  });
}
