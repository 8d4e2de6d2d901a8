/**
 * The sensor types and locations the dashboard shows, as discovered from the
 * data (see `web/vocabulary.ts`), and how islands use them: options with the
 * current selection, a type's description with a fallback, chart scales and
 * heat colours for types with and without a normal band. Browser-safe.
 */
import type { SensorTypeDescription, ValueInterval } from "../../shared/sensor_types.ts";
import type { WireWindow } from "./wire.ts";
import { heatLevel } from "./windows.ts";

/** The discovered vocabulary as sent to the browser. */
export interface WireVocabulary {
  /** Types present in the data, each with what is known of it (built-in first, then by name). */
  types: SensorTypeDescription[];
  /** Locations present in the data, by name. */
  locations: string[];
  /** Start of the period the data was looked at, epoch ms. */
  since: number;
}

/** The description of a type, or a bare one (no unit, range or band) for a type nobody described. */
export function typeInfo(types: readonly SensorTypeDescription[], type: string): SensorTypeDescription {
  return types.find((t) => t.type === type) ?? bareType(type);
}

/** What is known of a type nobody described: its name only. */
export function bareType(type: string): SensorTypeDescription {
  return { type, unit: "", builtin: false };
}

/**
 * The names to show: `selected` alone when given, otherwise the discovered
 * names followed by any other names seen in `live` (e.g. windows that arrived
 * after the page was rendered), in first-seen order.
 */
export function namesToShow(discovered: readonly string[], live: Iterable<string>, selected?: string): string[] {
  if (selected) return [selected];
  const out = new Set(discovered);
  for (const name of live) out.add(name);
  return [...out];
}

/** The options of a filter: the discovered names plus the current selection when the data lacks it. */
export function filterOptions(discovered: readonly string[], selected?: string): string[] {
  return selected && !discovered.includes(selected) ? [...discovered, selected] : [...discovered];
}

/** Types and locations of type/location windows, in first-seen order. */
export function namesIn(windows: Iterable<WireWindow>): { types: string[]; locations: string[] } {
  const types = new Set<string>(), locations = new Set<string>();
  for (const w of windows) {
    types.add(w.sensor_type);
    locations.add(w.location);
  }
  return { types: [...types], locations: [...locations] };
}

/** Suggested y-axis bounds of a type's chart: its normal band when described, otherwise automatic (undefined). */
export function chartScale(info: SensorTypeDescription): { suggestedMin?: number; suggestedMax?: number } {
  return info.band ? { suggestedMin: info.band.min, suggestedMax: info.band.max } : {};
}

/**
 * The heat class 0–4 of a value: against the type's normal band when it has
 * one, otherwise against `observed` (the span of the values shown for the
 * type), so that undescribed types are coloured on an automatic scale.
 */
export function heatFor(info: SensorTypeDescription, value: number, observed: ValueInterval): number {
  if (info.band) return heatLevel(value, info.band.min, info.band.max);
  return observed.max > observed.min ? heatLevel(value, observed.min, observed.max) : 2;
}

/** A stable colour for a type: the built-in palette, or one derived from the name. */
export function typeColor(type: string): string {
  const fixed = COLORS[type];
  if (fixed) return fixed;
  let h = 0;
  for (let i = 0; i < type.length; i++) h = (h * 31 + type.charCodeAt(i)) >>> 0;
  return EXTRA_COLORS[h % EXTRA_COLORS.length];
}

const COLORS: Record<string, string> = {
  temperature: "#ff7043",
  humidity: "#29b6f6",
  pressure: "#ab47bc",
  vibration: "#ffca28",
  voltage: "#66bb6a",
  current: "#ec407a",
};
const EXTRA_COLORS = ["#26a69a", "#7e57c2", "#d4e157", "#8d6e63", "#42a5f5", "#ffa726", "#78909c", "#9ccc65"];
