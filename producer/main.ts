/**
 * `deno task producer [flags]`: the sensor fleet simulator. Prints statistics
 * every `--stats-interval` seconds and at exit. SIGINT/SIGTERM stop
 * generating and flush within `--flush-timeout`, then exit 0, or 1 if any
 * record was not acknowledged (failed, refused as too large, or abandoned at
 * the deadline); a second signal exits at once with 130 (`listenForStop`: the
 * copy of a Ctrl-C that `deno task` forwards is not a second one).
 */
import { createLogger, EnvReader, listenForStop, LOG_LEVELS, runMain, stopWithParent } from "@iot/shared";
import { parseProducerArgs } from "./options.ts";
import { startProducer } from "./producer.ts";
import { formatStats, type StatsSnapshot } from "./stats.ts";
import { httpMain, splitSource } from "./http/mod.ts";

const encoder = new TextEncoder();

/** Writes a log line to stderr and, with `--log-file`, appends it to that file. */
function logWriter(file: Deno.FsFile | undefined): (line: string) => void {
  return (line) => {
    const bytes = encoder.encode(line + "\n");
    Deno.stderr.writeSync(bytes);
    file?.writeSync(bytes);
  };
}

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
  const logFile = cli.logFile === undefined
    ? undefined
    : await Deno.open(cli.logFile, { append: true, create: true, write: true });
  const logger = createLogger({
    name: "producer",
    level: env.oneOf("LOG_LEVEL", LOG_LEVELS),
    format: env.oneOf("LOG_FORMAT", ["pretty", "json"] as const),
    write: logWriter(logFile),
  });
  const controller = new AbortController();
  let current = () => ({ total: 0, sent: 0, errors: 0 });
  const signals = listenForStop();
  signals.first.then(() => {
    logger.info("Stopping: flushing in-flight records", { deadline_s: cli.options.flushTimeoutMs! / 1000 });
    controller.abort();
  });
  signals.again.then(() => {
    const c = current();
    logger.error("Second signal: exiting at once", {
      acknowledged: c.total,
      failed: c.errors,
      abandoned: c.sent - c.total - c.errors,
    });
    Deno.exit(130);
  });
  stopWithParent();
  const print = (s: StatsSnapshot) => {
    if (cli.quiet && !s.final) return;
    console.log(cli.json ? JSON.stringify(s) : formatStats(s));
  };
  try {
    const handle = startProducer({ ...cli.options, logger, signal: controller.signal, onStats: print });
    current = handle.current;
    const result = await handle.done;
    if (result.failed > 0) {
      logger.error("Some records were not acknowledged", {
        failed: result.failed,
        refused_too_large: result.refused,
        abandoned: result.abandoned,
        acknowledged: result.acknowledged,
        seed: result.seed,
      });
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
    signals.close();
    logFile?.close();
  }
}

if (import.meta.main) runMain(() => main(Deno.args));
