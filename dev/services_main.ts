/**
 * `deno task services`: starts local Kafka and a MongoDB-protocol server,
 * creates the pipeline's standard topics, prints the URLs and keeps them
 * running until Ctrl-C. An explicit KAFKA_BROKERS or MONGO_URL skips starting
 * that service.
 *
 * Ctrl-C (or SIGTERM) stops MongoDB, then Kafka, within `--stop-timeout`
 * seconds; what is still running then is killed and the exit code is 1. A
 * second Ctrl-C kills both at once (exit code 1).
 *
 * `--brokers 3` starts a local 3-node KRaft cluster instead of the single
 * broker (ports 9092-9094 by default; topics with replication factor 3 and
 * `min.insync.replicas=2`); KAFKA_BROKERS then lists all three.
 *
 * Flags: --brokers (default 1), --kafka-port (default 9092), --mongo-port (default 27017), --data-dir,
 * --stop-timeout (default 30).
 */
import { listenForStop, parseFlags, runMain, usage } from "@iot/shared";
import { BROKERS_FLAG, startServices } from "./stack.ts";

const FLAGS = {
  brokers: BROKERS_FLAG,
  "kafka-port": { type: "number", default: 9092, min: 1, max: 65535, integer: true, help: "Kafka broker port" },
  "mongo-port": { type: "number", default: 27017, min: 1, max: 65535, integer: true, help: "MongoDB port" },
  "data-dir": { type: "string", help: "Kafka data directory to keep between runs (default: temporary)" },
  "stop-timeout": {
    type: "number",
    default: 30,
    min: 1,
    max: 600,
    help: "Seconds the services may take to stop before they are killed",
  },
} as const;

runMain(async () => {
  const flags = parseFlags(Deno.args, FLAGS);
  if (flags.help) {
    console.log(usage("deno task services", "Starts local Kafka and MongoDB for development.", FLAGS));
    return 0;
  }
  // Until the services are up, Ctrl-C ends this process at once (the JVMs exit with it, see ParentWatch).
  const services = await startServices({
    kafkaPort: flags["kafka-port"],
    brokers: flags.brokers,
    mongoPort: flags["mongo-port"],
    dataDir: flags["data-dir"],
    log: (m) => console.error(m),
  });
  console.log(`KAFKA_BROKERS=${services.kafkaBrokers}`);
  console.log(`MONGO_URL=${services.mongoUrl}`);
  const signals = listenForStop();
  console.error("Services are up. Press Ctrl-C to stop them.");
  const reason = await Promise.race([signals.first, services.failed]);
  console.error(`Stopping services (${reason})...`);
  let atOnce = false;
  signals.again.then(async (sig) => {
    atOnce = true;
    console.error(`${sig} again: killing the services now`);
    await services.kill();
  });
  const forced = await services.stop(flags["stop-timeout"] * 1000);
  if (forced && !atOnce) console.error(`A service did not stop within ${flags["stop-timeout"]} s and was killed.`);
  console.error(forced ? "Services stopped (killed)." : "Services stopped.");
  return reason.startsWith("SIG") && !forced ? 0 : 1;
});
