/** `deno task web [--port 8000] [--host 127.0.0.1]`: the live dashboard. */
import { parseFlags, runMain, stopWithParent, usage } from "@iot/shared";
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
} as const;

if (import.meta.main) {
  runMain(async () => {
    const flags = parseFlags(Deno.args, FLAGS);
    if (flags.help) {
      console.log(usage("deno task web", "Serves the live dashboard of the IoT pipeline.", FLAGS));
      return 0;
    }
    const config = loadWebConfig();
    const handle = await startWeb({
      config,
      host: flags.host,
      port: flags.port,
      liveMode: flags["live-mode"] as "auto" | "polling",
      kafka: flags.kafka ? undefined : false,
    });
    const { promise: stopped, resolve } = Promise.withResolvers<void>();
    const shutdown = () => {
      handle.stop().then(resolve, resolve);
    };
    Deno.addSignalListener("SIGINT", shutdown);
    Deno.addSignalListener("SIGTERM", shutdown);
    stopWithParent();
    await stopped;
    return 0;
  });
}
