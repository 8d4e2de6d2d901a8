/** Structured logging: one JSON object per line, or a readable line for terminals. */

/** Log levels, lowest first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** A log level. */
export type LogLevel = typeof LOG_LEVELS[number];

/** Output format. */
export type LogFormat = "json" | "pretty";

/** Extra structured fields of a log line. */
export type LogFields = Record<string, unknown>;

/** A logger bound to a name and level. */
export interface Logger {
  readonly name: string;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger with the same settings and a longer name (`parent.child`). */
  child(name: string): Logger;
  /** Whether lines of this level are written. */
  enabled(level: LogLevel): boolean;
}

/** Options of `createLogger`. */
export interface LoggerOptions {
  name: string;
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; standard error by default. */
  write?: (line: string) => void;
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

function errorFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { name: v.name, message: v.message } : v;
  }
  return out;
}

/** Creates a logger. Level and format default to `LOG_LEVEL` / `LOG_FORMAT` resolved by config. */
export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? "info";
  const format = options.format ?? "pretty";
  const write = options.write ?? writeStderr;
  const min = LOG_LEVELS.indexOf(level);

  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(lvl) < min) return;
    const f = fields ? errorFields(fields) : undefined;
    if (format === "json") {
      write(JSON.stringify({ ts: new Date().toISOString(), level: lvl, logger: options.name, msg, ...f }));
      return;
    }
    const time = new Date().toISOString().slice(11, 23);
    let line = `${time} ${lvl.toUpperCase().padEnd(5)} ${options.name}: ${msg}`;
    if (f) {
      for (const [k, v] of Object.entries(f)) {
        line += ` ${k}=${typeof v === "string" ? v : JSON.stringify(v)}`;
      }
    }
    write(line);
  };

  return {
    name: options.name,
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (name) => createLogger({ ...options, name: `${options.name}.${name}` }),
    enabled: (lvl) => LOG_LEVELS.indexOf(lvl) >= min,
  };
}
