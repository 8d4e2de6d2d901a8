/**
 * `deno task producer [flags]`: the sensor fleet simulator. Prints statistics
 * every `--stats-interval` seconds and at exit; SIGINT/SIGTERM stop, flush and
 * exit 0, or 1 if any record failed definitively.
 */
import { createLogger, EnvReader, LOG_LEVELS, runMain, stopWithParent } from "@iot/shared";
import { parseProducerArgs } from "./options.ts";
import { runProducer } from "./producer.ts";
import { formatStats, type StatsSnapshot } from "./stats.ts";
import { httpMain, splitSource } from "./http/mod.ts";

/** Runs the CLI with `args`; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const { source, rest: args } = splitSource(argv);
  if (source === "http") return await httpMain(args);
  const cli = parseProducerArgs(args);
  if (cli.help) {
    console.log(
      `${cli.text}\n  --${"source <value>".padEnd(22)} sensors (these flags) or http (see --source http --help)`,
    );
    return 0;
  }
  const env = new EnvReader(Deno.env.toObject());
  const logger = createLogger({
    name: "producer",
    level: env.oneOf("LOG_LEVEL", LOG_LEVELS),
    format: env.oneOf("LOG_FORMAT", ["pretty", "json"] as const),
  });
  const controller = new AbortController();
  const onSignal = () => {
    if (!controller.signal.aborted) logger.info("Stopping: flushing in-flight records");
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  stopWithParent();
  const print = (s: StatsSnapshot) => {
    if (cli.quiet && !s.final) return;
    console.log(cli.json ? JSON.stringify(s) : formatStats(s));
  };
  try {
    const result = await runProducer({ ...cli.options, logger, signal: controller.signal, onStats: print });
    if (result.failed > 0) {
      logger.error("Some records were not acknowledged", { failed: result.failed, seed: result.seed });
      return 1;
    }
    return 0;
  } catch (e) {
    if (e instanceof Error && e.name === "ProducerConnectError") {
      logger.error(e.message);
      return 1;
    }
    throw e;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

if (import.meta.main) runMain(() => main(Deno.args));
