/**
 * `deno task web [flags]`: the live dashboard until SIGINT/SIGTERM, then a stop within `--stop-timeout-ms`
 * (`WEB_STOP_TIMEOUT_MS`, exit 1 past it); a second signal exits at once.
 */
import { createLogger, listenForStop, parseFlags, runMain, stopWithin, stopWithParent, usage } from "@iot/shared";
import { loadWebConfig, startWeb } from "./server.ts";

const FLAGS = {
  port: { type: "number", integer: true, min: 0, max: 65535, help: "Port (default: WEB_PORT, 8000)" },
  host: { type: "string", help: "Address to listen on (default: WEB_HOST, 127.0.0.1)" },
  "live-mode": {
    type: "string",
    choices: ["auto", "polling"],
    default: "auto",
    help: "auto: change streams, polling when unsupported",
  },
  kafka: { type: "boolean", default: true, help: "Read producer rate and consumer lag from Kafka" },
  "stop-timeout-ms": {
    type: "number",
    integer: true,
    min: 1000,
    max: 3_600_000,
    help: "A stop ends within this long, or exits 1 (env WEB_STOP_TIMEOUT_MS, 30000)",
  },
} as const;

if (import.meta.main) {
  runMain(async () => {
    const flags = parseFlags(Deno.args, FLAGS);
    if (flags.help) {
      console.log(usage("deno task web", "Serves the live dashboard of the IoT pipeline.", FLAGS));
      return 0;
    }
    const config = loadWebConfig();
    const logger = createLogger({ name: "web", level: config.common.log.level, format: config.common.log.format });
    const handle = await startWeb({
      config,
      host: flags.host,
      port: flags.port,
      liveMode: flags["live-mode"] as "auto" | "polling",
      kafka: flags.kafka ? undefined : false,
      logger,
    });
    const signals = listenForStop();
    stopWithParent();
    await signals.first;
    const deadlineMs = flags["stop-timeout-ms"] ?? config.stopTimeoutMs;
    return await stopWithin(() => handle.stop().then(() => true), { deadlineMs, again: signals.again, logger });
  });
}
