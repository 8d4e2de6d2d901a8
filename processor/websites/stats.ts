/** Pure statistics of website checks: rolling last-N and tumbling windows. */
import type { RecentCheck, WebsiteStats } from "@iot/shared";

/** Checks kept in the rolling statistics. */
export const ROLLING_SIZE = 100;

/** The `p`-th percentile (0–100) of ascending `sorted` values, nearest-rank; null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Statistics of `checks`: uptime over all, response times over those that got a response. */
export function summarize(checks: readonly { ms: number | null; up: boolean }[]): WebsiteStats {
  const up = checks.filter((c) => c.up).length;
  const samples = checks.map((c) => c.ms).filter((m): m is number => m !== null).sort((a, b) => a - b);
  const sum = samples.reduce((a, b) => a + b, 0);
  return {
    checks: checks.length,
    up,
    uptime_pct: checks.length === 0 ? 100 : round((up / checks.length) * 100),
    avg_ms: samples.length ? round(sum / samples.length) : null,
    min_ms: samples.length ? samples[0] : null,
    max_ms: samples.length ? samples[samples.length - 1] : null,
    p95_ms: percentile(samples, 95),
  };
}

/** Appends a check to the rolling list, keeping the last `size`. */
export function pushRecent(recent: RecentCheck[], check: RecentCheck, size = ROLLING_SIZE): void {
  recent.push(check);
  if (recent.length > size) recent.splice(0, recent.length - size);
}

/** Start (epoch ms) of the tumbling window of `sizeS` seconds that holds `t`. */
export function windowStart(t: number, sizeS: number): number {
  const ms = sizeS * 1000;
  return Math.floor(t / ms) * ms;
}
