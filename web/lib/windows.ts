/** Window arithmetic shared by server rendering and islands (browser-safe). */
import type { WireWindow } from "./wire.ts";

/** One point of a per-type series: count-weighted average with the min–max band. */
export interface SeriesPoint {
  start: number;
  avg: number;
  min: number;
  max: number;
  count: number;
}

/**
 * Combines type/location windows into one series per sensor type: per window
 * start, the count-weighted average and the overall min and max. Points sorted by start.
 */
export function seriesByType(windows: Iterable<WireWindow>): Map<string, SeriesPoint[]> {
  const acc = new Map<string, Map<number, { sum: number; count: number; min: number; max: number }>>();
  for (const w of windows) {
    let byStart = acc.get(w.sensor_type);
    if (!byStart) acc.set(w.sensor_type, byStart = new Map());
    const p = byStart.get(w.start);
    const n = Math.max(w.count, 1);
    if (!p) byStart.set(w.start, { sum: w.avg * n, count: n, min: w.min, max: w.max });
    else {
      p.sum += w.avg * n;
      p.count += n;
      p.min = Math.min(p.min, w.min);
      p.max = Math.max(p.max, w.max);
    }
  }
  const out = new Map<string, SeriesPoint[]>();
  for (const [type, byStart] of [...acc].sort(([a], [b]) => a.localeCompare(b))) {
    out.set(
      type,
      [...byStart].sort(([a], [b]) => a - b).map(([start, p]) => ({
        start,
        avg: p.sum / p.count,
        min: p.min,
        max: p.max,
        count: p.count,
      })),
    );
  }
  return out;
}

/** The latest window per type/location group: `type/location` → window. */
export function latestByGroup(windows: Iterable<WireWindow>): Map<string, WireWindow> {
  const out = new Map<string, WireWindow>();
  for (const w of windows) {
    const key = `${w.sensor_type}/${w.location}`;
    const prev = out.get(key);
    if (!prev || w.start > prev.start || (w.start === prev.start && w.updated > prev.updated)) out.set(key, w);
  }
  return out;
}

/** A heat class 0–4 for a value relative to a type's normal band (2 = middle of the band). */
export function heatLevel(value: number, normalMin: number, normalMax: number): number {
  const span = normalMax - normalMin || 1;
  const x = (value - normalMin) / span;
  if (x < -0.25) return 0;
  if (x < 0.25) return 1;
  if (x <= 0.75) return 2;
  if (x <= 1.25) return 3;
  return 4;
}

/** Formats a number for display with up to `digits` decimals. */
export function fmt(value: number | undefined, digits = 2): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
