/** A small, strict command-line flag parser with one-line error messages. */
import { isKafkaAuthenticationError, UsageError } from "./errors.ts";

/** Declaration of one flag. */
export type FlagSpec =
  | { type: "number"; default?: number; min?: number; max?: number; integer?: boolean; help: string }
  | { type: "string"; default?: string; choices?: readonly string[]; help: string }
  | { type: "boolean"; default?: boolean; help: string };

/** The value type of a flag spec. */
type FlagValue<S extends FlagSpec> = S extends { type: "number" } ? number
  : S extends { type: "boolean" } ? boolean
  : string;

/** Parsed flags: those with a default are always present. */
export type ParsedFlags<T extends Record<string, FlagSpec>> =
  & { [K in keyof T]: T[K] extends { default: unknown } ? FlagValue<T[K]> : FlagValue<T[K]> | undefined }
  & { help: boolean };

/**
 * Parses `--name value`, `--name=value`, `--flag` and `--no-flag`.
 * Throws `UsageError` with a one-line reason on unknown flags, missing or bad values.
 */
export function parseFlags<T extends Record<string, FlagSpec>>(args: readonly string[], specs: T): ParsedFlags<T> {
  const out: Record<string, unknown> = { help: false };
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.default !== undefined) out[name] = spec.default;
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") {
      out.help = true;
      continue;
    }
    if (!arg.startsWith("--")) throw new UsageError(`Unexpected argument "${arg}" (flags start with --)`);
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const spec = specs[name];
    if (!spec && name.startsWith("no-") && specs[name.slice(3)]?.type === "boolean" && value === undefined) {
      out[name.slice(3)] = false;
      continue;
    }
    if (!spec) throw new UsageError(`Unknown flag --${name} (see --help)`);
    if (spec.type === "boolean") {
      if (value === undefined) out[name] = true;
      else if (value === "true" || value === "false") out[name] = value === "true";
      else throw new UsageError(`Flag --${name} takes true or false, got "${value}"`);
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
        throw new UsageError(`Flag --${name} needs a value`);
      }
      value = args[++i];
    }
    out[name] = convert(name, spec, value);
  }
  return out as ParsedFlags<T>;
}

function convert(name: string, spec: FlagSpec, value: string): unknown {
  if (spec.type === "number") {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n)) {
      throw new UsageError(`Flag --${name} must be a number, got "${value}"`);
    }
    if (spec.integer && !Number.isInteger(n)) {
      throw new UsageError(`Flag --${name} must be a whole number, got "${value}"`);
    }
    if (spec.min !== undefined && n < spec.min) {
      throw new UsageError(`Flag --${name} must be at least ${spec.min}, got ${value}`);
    }
    if (spec.max !== undefined && n > spec.max) {
      throw new UsageError(`Flag --${name} must be at most ${spec.max}, got ${value}`);
    }
    return n;
  }
  if (spec.type === "string" && spec.choices && !spec.choices.includes(value)) {
    throw new UsageError(`Flag --${name} must be one of ${spec.choices.join(", ")}, got "${value}"`);
  }
  return value;
}

/** Renders a usage text from the flag specs. */
export function usage(command: string, summary: string, specs: Record<string, FlagSpec>): string {
  const lines = [`Usage: ${command} [flags]`, "", summary, "", "Flags:"];
  for (const [name, spec] of Object.entries(specs)) {
    const arg = spec.type === "boolean" ? "" : spec.type === "number" ? " <n>" : " <value>";
    const def = spec.default !== undefined ? ` (default: ${spec.default})` : "";
    const choices = spec.type === "string" && spec.choices ? ` [${spec.choices.join("|")}]` : "";
    lines.push(`  --${(name + arg).padEnd(22)} ${spec.help}${choices}${def}`);
  }
  lines.push(`  --${"help".padEnd(22)} Show this text`);
  return lines.join("\n");
}

/**
 * Runs a program's main function: prints usage errors as one line on stderr
 * and exits 2, refused Kafka credentials as one line and exits 1, other
 * uncaught errors exit 1.
 */
export async function runMain(main: () => Promise<number | void>): Promise<never> {
  let code = 0;
  try {
    code = (await main()) ?? 0;
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && e.name === "ConfigError")) {
      console.error(`error: ${e.message}`);
      code = 2;
    } else if (isKafkaAuthenticationError(e)) {
      console.error(`error: Kafka refused the connection: ${e.message}`);
      code = 1;
    } else {
      console.error(`fatal: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      code = 1;
    }
  }
  Deno.exit(code);
}

/** Environment variable through which a supervisor (`deno task up`) passes its pid to the programs it starts. */
export const PARENT_PID_ENV = "IOT_PARENT_PID";

/**
 * When `IOT_PARENT_PID` is set, checks every second whether that process is
 * still alive and, once it is gone (e.g. the supervisor was killed), sends
 * this process SIGTERM so that its own graceful shutdown runs. Returns a
 * function that stops watching.
 */
export function stopWithParent(env: Record<string, string | undefined> = Deno.env.toObject()): () => void {
  const pid = Number(env[PARENT_PID_ENV]);
  if (!Number.isInteger(pid) || pid <= 1) return () => {};
  const timer = setInterval(() => {
    try {
      Deno.kill(pid, "SIGCONT"); // harmless probe: fails once the parent is gone
    } catch {
      clearInterval(timer);
      console.error(`parent process ${pid} is gone: shutting down`);
      Deno.kill(Deno.pid, "SIGTERM");
    }
  }, 1000);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
