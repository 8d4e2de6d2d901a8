/** Processor settings: defaults, environment (shared `ENV_VARS`) and flag overrides. */
import {
  type CommonConfig,
  ConfigError,
  EnvReader,
  loadCommonConfig,
  loadReadingContract,
  PROCESSOR_GROUP,
  type ReadingContract,
} from "@iot/shared";
import { DEFAULT_DETECTOR_CONFIG, type DetectorConfig } from "./stages/detectors.ts";
import { type RulePolicy, type RuleTiming, validatePersistence } from "./stages/alert_lifecycle.ts";
import { sensorPolicy } from "./stages/alerts.ts";

/** Everything `startProcessor` needs. */
export interface ProcessorConfig extends CommonConfig {
  groupId: string;
  /** Name of this instance in `pipeline_stats` and logs. */
  instance: string;
  /** Port of /metrics and /healthz; 0 = off. */
  metricsPort: number;
  /** Address the metrics server listens on. */
  metricsHost: string;
  /** Tumbling window sizes in seconds. */
  windowsS: number[];
  allowedLatenessMs: number;
  /** Wall-clock time without records after which a partition's watermark follows the clock. */
  idleMs: number;
  /** Windows and alerts are written and offsets committed at most this often (and at shutdown). */
  flushIntervalMs: number;
  /**
   * Between full flushes, the windows the dashboard shows live (per type ×
   * location) are written this often, without committing; 0 = off (see `flush_cadence.ts`).
   */
  liveFlushIntervalMs: number;
  /**
   * How long the broker holds a fetch for `FETCH_MIN_BYTES` of records to gather
   * (`PROCESSOR_FETCH_WAIT_MS`): without it, every few records are a batch of
   * their own, each with its own MongoDB insert.
   */
  fetchWaitMs: number;
  rawRetentionDays: number;
  /** Decode and validate only: no MongoDB, no windows, no alerts (benchmark baseline). */
  consumeOnly: boolean;
  /** Start from the earliest offset when the group has no committed offset. */
  fromBeginning: boolean;
  /** When each rule opens and clears an incident (`PROCESSOR_INCIDENT_RULES` over `DEFAULT_SENSOR_POLICY`). */
  incidentRules: RulePolicy;
  /** `ALERT_WEBHOOK_URL`: incident announcements are also POSTed there. */
  alertWebhookUrl?: string;
  /** How often silences are read from MongoDB. */
  silencePollMs: number;
  detectors: DetectorConfig;
  /** The reading contract: how far ahead event times may be, and the described sensor types. */
  contract: Required<Omit<ReadingContract, "now">>;
  /** Interval of the `pipeline_stats` heartbeat. */
  heartbeatMs: number;
  /**
   * Raw-reading insert calls in flight at once; 0 = automatic (1 on the local
   * stand-in, which is slower with concurrent writes; 4 on MongoDB).
   */
  writeConcurrency: number;
  /** A MongoDB or Kafka write retried this long gives up: the processor re-reads from its committed offsets. */
  retryDeadlineMs: number;
  /** A stop (SIGINT/SIGTERM, `stop()`) ends within this long; work not done by then is abandoned and re-read. */
  stopTimeoutMs: number;
}

/** Command-line overrides (all optional). */
export interface ProcessorFlags {
  brokers?: string;
  mongoUrl?: string;
  group?: string;
  metricsPort?: number;
  consumeOnly?: boolean;
  instance?: string;
  stopTimeoutMs?: number;
}

function parseWindows(list: string[]): number[] {
  const sizes = list.map((s) => Number(s));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 86400)) {
    throw new ConfigError(`PROCESSOR_WINDOWS must be whole seconds from 1 to 86400, got "${list.join(",")}"`);
  }
  return [...new Set(sizes)].sort((a, b) => a - b);
}

/** Loads the processor configuration from the environment and flags. */
export function loadProcessorConfig(
  env: Record<string, string | undefined> = Deno.env.toObject(),
  flags: ProcessorFlags = {},
): ProcessorConfig {
  const merged = { ...env };
  if (flags.brokers !== undefined) merged.KAFKA_BROKERS = flags.brokers;
  if (flags.mongoUrl !== undefined) merged.MONGO_URL = flags.mongoUrl;
  const common = loadCommonConfig(merged);
  const r = new EnvReader(merged);
  const lateness = r.int("PROCESSOR_ALLOWED_LATENESS_MS", 0, 86_400_000);
  return {
    ...common,
    groupId: flags.group ?? r.string("PROCESSOR_GROUP") ?? PROCESSOR_GROUP,
    instance: flags.instance ?? `${safeHostname()}-${Deno.pid}`,
    metricsPort: flags.metricsPort ?? r.int("PROCESSOR_METRICS_PORT", 0, 65535),
    metricsHost: "0.0.0.0",
    windowsS: parseWindows(r.list("PROCESSOR_WINDOWS")),
    allowedLatenessMs: lateness,
    idleMs: Math.max(10_000, lateness),
    flushIntervalMs: r.int("PROCESSOR_FLUSH_MS", 50, 60_000),
    liveFlushIntervalMs: r.int("PROCESSOR_LIVE_FLUSH_MS", 0, 60_000),
    fetchWaitMs: r.int("PROCESSOR_FETCH_WAIT_MS", 0, 5000),
    rawRetentionDays: r.number("RAW_RETENTION_DAYS", 0.0001, 36500),
    consumeOnly: flags.consumeOnly ?? false,
    fromBeginning: true,
    incidentRules: parseIncidentRules(r.string("PROCESSOR_INCIDENT_RULES")),
    alertWebhookUrl: parseWebhookUrl(r.optional("ALERT_WEBHOOK_URL")),
    silencePollMs: 5000,
    detectors: { ...DEFAULT_DETECTOR_CONFIG },
    contract: loadReadingContract(merged),
    heartbeatMs: 2000,
    writeConcurrency: 0,
    retryDeadlineMs: 120_000,
    stopTimeoutMs: flags.stopTimeoutMs ?? r.int("PROCESSOR_STOP_TIMEOUT_MS", 1000, 3_600_000),
  };
}

/** `PROCESSOR_INCIDENT_RULES`: JSON `{rule: {for?, clear?}}` applied over the default policy. */
export function parseIncidentRules(text: string): RulePolicy {
  if (text.trim() === "") return sensorPolicy();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`PROCESSOR_INCIDENT_RULES is not JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError("PROCESSOR_INCIDENT_RULES must be a JSON object of rules");
  }
  const out: Record<string, Partial<RuleTiming>> = {};
  for (const [rule, t] of Object.entries(parsed as Record<string, Partial<RuleTiming>>)) {
    try {
      if (t.for) validatePersistence(rule, t.for);
      if (t.clear) validatePersistence(rule, t.clear);
    } catch (e) {
      throw new ConfigError(`PROCESSOR_INCIDENT_RULES: ${(e as Error).message}`);
    }
    out[rule] = t;
  }
  return sensorPolicy(out);
}

function parseWebhookUrl(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  try {
    const u = new URL(v);
    if (u.protocol === "http:" || u.protocol === "https:") return v;
  } catch { /* reported below */ }
  throw new ConfigError(`ALERT_WEBHOOK_URL must be an http(s) URL, got "${v}"`);
}

function safeHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "processor";
  }
}
