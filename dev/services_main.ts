/**
 * `deno task services`: starts local Kafka and a MongoDB-protocol server, prints
 * their URLs and keeps them running until Ctrl-C. An explicit KAFKA_BROKERS or
 * MONGO_URL skips starting that service.
 *
 * Flags: --kafka-port (default 9092), --mongo-port (default 27017), --data-dir.
 */
import { parseFlags, runMain, usage } from "@iot/shared";
import { startServices } from "./stack.ts";

const FLAGS = {
  "kafka-port": { type: "number", default: 9092, min: 1, max: 65535, integer: true, help: "Kafka broker port" },
  "mongo-port": { type: "number", default: 27017, min: 1, max: 65535, integer: true, help: "MongoDB port" },
  "data-dir": { type: "string", help: "Kafka data directory to keep between runs (default: temporary)" },
} as const;

runMain(async () => {
  const flags = parseFlags(Deno.args, FLAGS);
  if (flags.help) {
    console.log(usage("deno task services", "Starts local Kafka and MongoDB for development.", FLAGS));
    return 0;
  }
  const services = await startServices({
    kafkaPort: flags["kafka-port"],
    mongoPort: flags["mongo-port"],
    dataDir: flags["data-dir"],
    log: (m) => console.error(m),
  });
  console.log(`KAFKA_BROKERS=${services.kafkaBrokers}`);
  console.log(`MONGO_URL=${services.mongoUrl}`);
  console.error("Services are up. Press Ctrl-C to stop them.");
  const stop = new Promise<string>((resolve) => {
    Deno.addSignalListener("SIGINT", () => resolve("SIGINT"));
    Deno.addSignalListener("SIGTERM", () => resolve("SIGTERM"));
  });
  const reason = await Promise.race([stop, services.failed]);
  console.error(`Stopping services (${reason})...`);
  await services.stop();
  console.error("Services stopped.");
  return reason.startsWith("SIG") ? 0 : 1;
});
