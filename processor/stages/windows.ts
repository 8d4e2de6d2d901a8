/**
 * Event-time tumbling windows: assignment, per-partition partial aggregates,
 * merging, and the document written to `windowed_metrics`.
 *
 * ## Exactness design (replays, crashes, several instances)
 *
 * A window document holds, besides the totals the dashboard reads, one
 * partial aggregate per source Kafka partition: `parts.p<N>` with count, sum,
 * mean/M2 (for the variance), min, max, first/last event time, last value,
 * anomalies, and `offset` — the highest offset of partition N folded into it.
 *
 * - Only the instance that owns partition N writes `parts.p<N>` (Kafka's group
 *   protocol gives each partition one owner), so instances never overwrite each
 *   other's data, and `$set` of the whole part is idempotent.
 * - Before folding a record of partition N into a window, the window's part is
 *   loaded from MongoDB (once per window per assignment). A record whose offset
 *   is not above `parts.p<N>.offset` was already counted and is skipped. The
 *   part and its offset are written in ONE document update, so "counted" and
 *   "offset recorded" can never diverge: a crash before the write loses both
 *   (the uncommitted records are re-read and counted), a crash after it keeps
 *   both (the re-read records are skipped). This holds whatever the order of
 *   the raw insert and the window write, and whatever the commit point.
 * - Totals are recomputed from all parts after each write: step 1 sets the part
 *   and `$inc`s a version `v`; step 2 reads the documents back; step 3 writes
 *   the totals only if `v` is unchanged. The writer whose read saw the last
 *   version always succeeds, and that read contains every part, so totals
 *   converge to the sum of parts even with concurrent instances.
 * - On a rebalance, in-memory state of revoked partitions is dropped without
 *   writing; the new owner resumes from the committed offset and the guard.
 *
 * Windows are flushed before offsets are committed, so the committed offset is
 * never ahead of the parts' offsets.
 */
import { type Location, type SensorReading, type WindowDoc, windowId, type WindowKind } from "@iot/shared";

/** The partial aggregate of one window from one source partition. */
export interface WindowPart {
  count: number;
  sum: number;
  /** Running mean and sum of squared deviations (Welford), for the variance. */
  mean: number;
  m2: number;
  min: number;
  max: number;
  first_t: number;
  last_t: number;
  last: number;
  anomalies: number;
  /** Highest source offset folded into this part. */
  offset: number;
  /** The partition's watermark passed the window end when this part was written. */
  final: boolean;
}

/** Identity of a window (what the totals are grouped by). */
export interface WindowKey {
  id: string;
  kind: WindowKind;
  group: string;
  sensor_type: string;
  location: Location;
  sensor_id?: string;
  start: number;
  sizeMs: number;
}

/** A window document as stored: the shared shape plus the per-partition parts and version. */
export interface StoredWindowDoc extends WindowDoc {
  parts: Record<string, WindowPart>;
  v: number;
}

/** Start of the tumbling window of `sizeMs` containing event time `t` (epoch ms). */
export function windowStart(t: number, sizeMs: number): number {
  return Math.floor(t / sizeMs) * sizeMs;
}

/** The windows (every kind and size) a reading belongs to. */
export function assignWindows(reading: SensorReading, eventTime: number, sizesMs: readonly number[]): WindowKey[] {
  const out: WindowKey[] = [];
  const tl = `${reading.sensor_type}/${reading.location}`;
  for (const sizeMs of sizesMs) {
    const start = windowStart(eventTime, sizeMs);
    out.push({
      id: windowId("type_location", tl, start, sizeMs),
      kind: "type_location",
      group: tl,
      sensor_type: reading.sensor_type,
      location: reading.location,
      start,
      sizeMs,
    });
    out.push({
      id: windowId("sensor", reading.sensor_id, start, sizeMs),
      kind: "sensor",
      group: reading.sensor_id,
      sensor_type: reading.sensor_type,
      location: reading.location,
      sensor_id: reading.sensor_id,
      start,
      sizeMs,
    });
  }
  return out;
}

/** An empty part that has seen offsets up to `offset`. */
export function emptyPart(offset = -1): WindowPart {
  return {
    count: 0,
    sum: 0,
    mean: 0,
    m2: 0,
    min: Infinity,
    max: -Infinity,
    first_t: Infinity,
    last_t: -Infinity,
    last: 0,
    anomalies: 0,
    offset,
    final: false,
  };
}

/**
 * Folds one value into a part, unless its offset was already folded.
 * Returns whether it was counted.
 */
export function foldValue(part: WindowPart, value: number, t: number, offset: number, anomaly: boolean): boolean {
  if (offset <= part.offset) return false;
  part.offset = offset;
  part.count++;
  part.sum += value;
  const delta = value - part.mean;
  part.mean += delta / part.count;
  part.m2 += delta * (value - part.mean);
  if (value < part.min) part.min = value;
  if (value > part.max) part.max = value;
  if (t < part.first_t) part.first_t = t;
  if (t >= part.last_t) {
    part.last_t = t;
    part.last = value;
  }
  if (anomaly) part.anomalies++;
  return true;
}

/** Combines parts (Chan et al. parallel variance). Empty parts are ignored. */
export function mergeParts(parts: readonly WindowPart[]): WindowPart {
  const out = emptyPart();
  out.final = parts.length > 0;
  for (const p of parts) {
    out.final = out.final && p.final;
    if (p.count === 0) continue;
    const n = out.count + p.count;
    const delta = p.mean - out.mean;
    out.m2 = out.m2 + p.m2 + (delta * delta * out.count * p.count) / n;
    out.mean = out.mean + (delta * p.count) / n;
    out.count = n;
    out.sum += p.sum;
    out.min = Math.min(out.min, p.min);
    out.max = Math.max(out.max, p.max);
    out.first_t = Math.min(out.first_t, p.first_t);
    if (p.last_t >= out.last_t) {
      out.last_t = p.last_t;
      out.last = p.last;
    }
    out.anomalies += p.anomalies;
    out.offset = Math.max(out.offset, p.offset);
  }
  return out;
}

/** Fields of the window document that identify it (written with every part). */
export function windowIdentity(key: WindowKey): Omit<WindowDoc, TotalsField | "_id"> {
  const doc: Omit<WindowDoc, TotalsField | "_id"> = {
    kind: key.kind,
    group: key.group,
    sensor_type: key.sensor_type,
    location: key.location,
    window_start: new Date(key.start),
    window_end: new Date(key.start + key.sizeMs),
    size_s: Math.round(key.sizeMs / 1000),
  };
  if (key.sensor_id !== undefined) doc.sensor_id = key.sensor_id;
  return doc;
}

type TotalsField =
  | "count"
  | "sum"
  | "min"
  | "max"
  | "avg"
  | "stddev"
  | "last"
  | "first_event_time"
  | "last_event_time"
  | "anomalies"
  | "final"
  | "updated_at";

/** The totals of a window document computed from all its parts. */
export function windowTotals(parts: readonly WindowPart[], now: Date): Pick<WindowDoc, TotalsField> {
  const m = mergeParts(parts);
  const empty = m.count === 0;
  return {
    count: m.count,
    sum: m.sum,
    min: empty ? 0 : m.min,
    max: empty ? 0 : m.max,
    avg: empty ? 0 : m.mean,
    stddev: m.count > 0 ? Math.sqrt(Math.max(0, m.m2 / m.count)) : 0,
    last: m.last,
    first_event_time: new Date(empty ? 0 : m.first_t),
    last_event_time: new Date(empty ? 0 : m.last_t),
    anomalies: m.anomalies,
    final: m.final,
    updated_at: now,
  };
}

/** A part as stored (infinities are not valid BSON-friendly values for an empty part). */
export function storablePart(p: WindowPart): WindowPart {
  if (p.count > 0) return { ...p };
  return { ...p, min: 0, max: 0, first_t: 0, last_t: 0 };
}

/** A part read back from a document (undoes `storablePart` for empty parts). */
export function loadedPart(p: Partial<WindowPart> | undefined): WindowPart | undefined {
  if (!p || typeof p.offset !== "number") return undefined;
  const part = { ...emptyPart(), ...p } as WindowPart;
  if (part.count === 0) {
    const e = emptyPart(part.offset);
    e.final = !!part.final;
    return e;
  }
  return part;
}

/** The parts of a stored document, by partition (unreadable ones left out). */
export function loadedParts(parts: Record<string, Partial<WindowPart>> | undefined): Map<number, WindowPart> {
  const out = new Map<number, WindowPart>();
  for (const [k, raw] of Object.entries(parts ?? {})) {
    const part = loadedPart(raw);
    if (part) out.set(Number(k.slice(1)), part);
  }
  return out;
}

/** The key of partition `n` inside `parts`. */
export function partKey(partition: number): string {
  return `p${partition}`;
}
