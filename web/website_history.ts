/**
 * A target's statistics over a period and its hourly history, from the
 * processor's windowed website statistics. Pure: windows in, numbers out.
 *
 * The processor writes windows of several sizes (60 s and 300 s by default)
 * over the same checks; only one size is counted, the largest that divides an
 * hour, so that every window falls in exactly one hour.
 */

/** The fields of a `website_metrics` window that the history reads. */
export interface HistoryWindow {
  /** Window start, epoch ms. */
  start: number;
  size_s: number;
  checks: number;
  up: number;
  avg_ms: number | null;
  min_ms: number | null;
  max_ms: number | null;
  /** The response times counted (when the processor kept them). */
  samples?: number[];
}

/** Statistics over a set of windows. */
export interface PeriodStats {
  checks: number;
  up: number;
  uptime_pct: number | null;
  avg_ms: number | null;
  min_ms: number | null;
  max_ms: number | null;
  /** From the kept response times; null when a window kept none. */
  p95_ms: number | null;
}

/** One hour of the history. */
export interface HourPoint {
  /** Start of the hour, epoch ms. */
  hour: number;
  checks: number;
  uptime_pct: number | null;
  avg_ms: number | null;
}

/** A target's period statistics and hourly history. */
export interface WebsiteHistory {
  stats: PeriodStats;
  history: HourPoint[];
  /** The window size counted, seconds (null without windows). */
  window_s: number | null;
}

const HOUR_MS = 3_600_000;

/** The window size counted among the sizes present: the largest that divides an hour, else the smallest. */
export function countedSize(sizes: Iterable<number>): number | undefined {
  const all = [...new Set(sizes)].filter((s) => s > 0).sort((a, b) => a - b);
  const dividing = all.filter((s) => 3600 % s === 0);
  return dividing.at(-1) ?? all[0];
}

function percentile95(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)];
}

function stats(windows: HistoryWindow[]): PeriodStats {
  let checks = 0, up = 0, sum = 0, weight = 0;
  let min: number | null = null, max: number | null = null;
  const samples: number[] = [];
  let allSamples = windows.length > 0;
  for (const w of windows) {
    checks += w.checks;
    up += w.up;
    if (w.avg_ms !== null) {
      const n = w.samples?.length ?? w.checks;
      sum += w.avg_ms * n;
      weight += n;
    }
    if (w.min_ms !== null) min = min === null ? w.min_ms : Math.min(min, w.min_ms);
    if (w.max_ms !== null) max = max === null ? w.max_ms : Math.max(max, w.max_ms);
    if (w.samples) samples.push(...w.samples);
    else allSamples = false;
  }
  return {
    checks,
    up,
    uptime_pct: checks ? Math.round((up / checks) * 10_000) / 100 : null,
    avg_ms: weight ? Math.round((sum / weight) * 100) / 100 : null,
    min_ms: min,
    max_ms: max,
    p95_ms: allSamples ? percentile95(samples) : null,
  };
}

/** Summarizes windows (any order, any sizes) into period statistics and an hourly history, oldest hour first. */
export function summarizeWindows(windows: HistoryWindow[]): WebsiteHistory {
  const size = countedSize(windows.map((w) => w.size_s));
  const counted = windows.filter((w) => w.size_s === size);
  const byHour = new Map<number, HistoryWindow[]>();
  for (const w of counted) {
    const hour = Math.floor(w.start / HOUR_MS) * HOUR_MS;
    let list = byHour.get(hour);
    if (!list) byHour.set(hour, list = []);
    list.push(w);
  }
  const history = [...byHour].sort(([a], [b]) => a - b).map(([hour, list]) => {
    const s = stats(list);
    return { hour, checks: s.checks, uptime_pct: s.uptime_pct, avg_ms: s.avg_ms };
  });
  return { stats: stats(counted), history, window_s: size ?? null };
}
