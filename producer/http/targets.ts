/** The targets file of the HTTP checker: a JSON array of `{ name, url, category, interval, timeout }`. */
import { ConfigError } from "@iot/shared";

/** One monitored endpoint. */
export interface WebsiteTarget {
  name: string;
  url: string;
  category: string;
  /** Seconds between checks. */
  intervalS: number;
  /** Seconds before a check is abandoned as failed. */
  timeoutS: number;
}

/** Defaults of optional target fields. */
export const TARGET_DEFAULTS = { category: "default", intervalS: 30, timeoutS: 10 } as const;

function num(entry: Record<string, unknown>, field: string, fallback: number, where: string): number {
  const v = entry[field];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0.05 || v > 86400) {
    throw new ConfigError(`${where}: ${field} must be a number of seconds from 0.05 to 86400`);
  }
  return v;
}

/** Validates the parsed targets file; throws `ConfigError` naming the first bad entry. */
export function parseTargets(data: unknown, source = "targets"): WebsiteTarget[] {
  const list = Array.isArray(data)
    ? data
    : (typeof data === "object" && data !== null && Array.isArray((data as { targets?: unknown }).targets))
    ? (data as { targets: unknown[] }).targets
    : undefined;
  if (!list) throw new ConfigError(`${source} must be a JSON array of targets (or { "targets": [...] })`);
  if (list.length === 0) throw new ConfigError(`${source} lists no targets`);
  const seen = new Set<string>();
  return list.map((raw, i) => {
    const where = `${source} entry ${i + 1}`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new ConfigError(`${where} must be an object`);
    }
    const e = raw as Record<string, unknown>;
    if (typeof e.url !== "string") throw new ConfigError(`${where}: url is required`);
    let url: URL;
    try {
      url = new URL(e.url);
    } catch {
      throw new ConfigError(`${where}: url "${e.url}" is not a valid URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new ConfigError(`${where}: url must use http or https`);
    }
    if (seen.has(e.url)) throw new ConfigError(`${where}: url ${e.url} is listed twice`);
    seen.add(e.url);
    for (const f of ["name", "category"]) {
      if (e[f] !== undefined && (typeof e[f] !== "string" || (e[f] as string).length > 200)) {
        throw new ConfigError(`${where}: ${f} must be a string of at most 200 characters`);
      }
    }
    const intervalS = num(e, "interval", TARGET_DEFAULTS.intervalS, where);
    const timeoutS = num(e, "timeout", Math.min(TARGET_DEFAULTS.timeoutS, intervalS), where);
    return {
      url: e.url,
      name: (e.name as string | undefined) ?? url.host,
      category: (e.category as string | undefined) ?? TARGET_DEFAULTS.category,
      intervalS,
      timeoutS,
    };
  });
}

/** Reads and validates a targets file. */
export async function loadTargets(path: string): Promise<WebsiteTarget[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ConfigError(`Cannot read targets file ${path}: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`Targets file ${path} is not JSON: ${(e as Error).message}`);
  }
  return parseTargets(data, path);
}
