/**
 * The one check of every reliability scenario: what is in MongoDB (and the
 * dead-letter topic) against what was produced.
 *
 * - Raw readings: every expected `sensor_id:seq` present exactly once in
 *   `sensor_metrics` (document count, distinct (sensor_id, seq) pairs, nothing
 *   unexpected).
 * - Windows: for every document of `windowed_metrics`, `count` equals the
 *   stored readings of its group whose event time falls in
 *   [window_start, window_end), computed here from the raw documents; and
 *   every stored reading's windows exist. The scenarios produce in order (no
 *   out-of-order or late scenario), so no reading may be refused as late: a
 *   `late` dead letter is a problem and the window must still count it. With
 *   `allowLate` (for producers that do send late data), late readings are
 *   left out of the expectation instead; a window may then count a late
 *   reading only if a replay after a fault saw it in time (bounded).
 * - Alerts: `_id`s unique, at most one `state: "firing"` alert per
 *   (sensor_id, rule).
 * - Dead letters: the DLQ topic's records, distinct by source offset, match
 *   the `dead_letters` collection, each with a reason.
 */
import type { Kafka } from "kafkajs";
import type { Db } from "mongodb";
import { COLLECTIONS, readingId, type RejectReason } from "@iot/shared";
import { type KnownSet, readTopic, type Scenario, type TopicRecord, waitCaughtUp } from "./harness.ts";

/** What `verifyPipeline` needs. */
export interface VerifyOptions {
  db: Db;
  /** Reading ids (`sensor_id:seq`) that must each be stored exactly once. */
  expected: Iterable<string>;
  /** Window sizes of the processor in seconds (default 10 and 60, the processor's default). */
  windowSizesS?: number[];
  /** Kafka client and DLQ topic, to read dead letters (late readings and poison records). */
  kafka: Kafka;
  deadLetterTopic: string;
  /** The producer sent late data on purpose: late dead letters are expected, not windowed (default false). */
  allowLate?: boolean;
  /** Alerts topic: its events are counted (repeats after a replay are allowed: at-least-once). */
  alertTopic?: string;
}

/** One dead letter as found on the DLQ topic. */
export interface DeadLetter {
  reason: RejectReason | string;
  detail: string;
  source: string;
  key: string | null;
  size: number;
  value: Uint8Array | null;
}

/** The findings. `problems` is empty when everything is exact. */
export interface VerifyReport {
  expected: number;
  stored: number;
  distinct: number;
  missing: number;
  duplicated: number;
  unexpected: number;
  windows: number;
  windowMismatches: number;
  missingWindows: number;
  /** Windows that counted a reading another attempt had refused as late (allowed, see module doc). */
  windowsWithReplayedLate: number;
  alerts: number;
  firingAlerts: number;
  duplicatedAlerts: number;
  late: number;
  /** Events on the alerts topic, and how many repeat an (event, alert) pair already published. */
  alertEvents: number;
  alertEventRepeats: number;
  /** Alerts firing in MongoDB without a "new" event on the alerts topic. */
  alertsWithoutEvent: number;
  /** Distinct dead letters on the DLQ topic (by source partition and offset). */
  deadLetters: number;
  /** Records on the DLQ topic including repeats from replays. */
  deadLetterRecords: number;
  deadLetterDocs: number;
  byReason: Record<string, number>;
  letters: DeadLetter[];
  problems: string[];
}

interface RawDoc {
  _id: string;
  sensor_id: string;
  seq: number;
  sensor_type: string;
  location: string;
  timestamp: Date;
}

/** The `sensor_id:seq` key readings are checked by (our producer's readings all carry `seq`). */
function seqKey(r: { sensor_id: string; seq?: number }): string {
  return `${r.sensor_id}:${r.seq}`;
}

/** Keys `sensor:0 … sensor:n-1` for every sensor of a producer's `sequences` map. */
export function expectedFromSequences(sequences: Map<string, number>): string[] {
  const ids: string[] = [];
  for (const [sensor, n] of sequences) {
    for (let seq = 0; seq < n; seq++) ids.push(seqKey({ sensor_id: sensor, seq }));
  }
  return ids;
}

const decoder = new TextDecoder();

function lateId(r: TopicRecord): string | undefined {
  if (!r.value) return undefined;
  try {
    const v = JSON.parse(decoder.decode(r.value));
    return seqKey(v);
  } catch {
    return undefined;
  }
}

function windowKeys(d: RawDoc, sizes: number[]): string[] {
  const t = d.timestamp.getTime();
  const out: string[] = [];
  for (const s of sizes) {
    const start = Math.floor(t / (s * 1000)) * s * 1000;
    out.push(`type_location|${d.sensor_type}/${d.location}|${start}|${s}`);
    out.push(`sensor|${d.sensor_id}|${start}|${s}`);
  }
  return out;
}

function limited(list: string[], n = 5): string {
  return list.length > n ? `${list.slice(0, n).join(", ")} … (${list.length})` : list.join(", ");
}

/** Compares MongoDB and the DLQ with the expected readings. Reads everything; use modest volumes. */
export async function verifyPipeline(o: VerifyOptions): Promise<VerifyReport> {
  const sizes = o.windowSizesS ?? [10, 60];
  const problems: string[] = [];
  const expected = new Set(o.expected);

  // Dead letters first: late readings change the window expectation.
  const dlq = await readTopic(o.kafka, o.deadLetterTopic);
  const letters = new Map<string, DeadLetter>();
  const late = new Set<string>();
  let lateDetail = "";
  for (const r of dlq) {
    const source = `${r.headers["source.topic"]}:${r.headers["source.partition"]}:${r.headers["source.offset"]}`;
    if (!r.headers.reason) problems.push(`DLQ record ${r.partition}/${r.offset} has no reason header`);
    if (r.headers.reason === "late") {
      const id = lateId(r);
      if (id) late.add(id);
      lateDetail ||= r.headers.detail ?? "";
    }
    if (!letters.has(source)) {
      letters.set(source, {
        reason: r.headers.reason ?? "",
        detail: r.headers.detail ?? "",
        source,
        key: r.key,
        size: r.value?.byteLength ?? 0,
        value: r.value,
      });
    }
  }
  const byReason: Record<string, number> = {};
  for (const l of letters.values()) byReason[l.reason] = (byReason[l.reason] ?? 0) + 1;
  const deadDocs = await o.db.collection(COLLECTIONS.deadLetters).find({}, { projection: { reason: 1 } }).toArray();
  const deadDocIds = new Set(deadDocs.map((d) => String(d._id)));
  const notInColl = [...letters.keys()].filter((s) => !deadDocIds.has(s));
  if (notInColl.length) {
    problems.push(`dead letters on the topic but not in ${COLLECTIONS.deadLetters}: ${limited(notInColl)}`);
  }
  const notOnTopic = [...deadDocIds].filter((s) => !letters.has(s));
  if (notOnTopic.length) problems.push(`dead_letters documents without a DLQ record: ${limited(notOnTopic)}`);

  // Raw readings.
  const raw = await o.db.collection<RawDoc>(COLLECTIONS.readings).find({}, {
    projection: { sensor_id: 1, seq: 1, sensor_type: 1, location: 1, timestamp: 1 },
  }).toArray() as RawDoc[];
  const pairs = new Map<string, number>();
  for (const d of raw) {
    const id = seqKey(d);
    pairs.set(id, (pairs.get(id) ?? 0) + 1);
    // The stored timestamp is a Date (milliseconds); the id may add the digits the time was sent with below them.
    const stored = String(d._id), base = readingId(d);
    if (stored !== base && !(stored.startsWith(`${base}.`) && /^\d+$/.test(stored.slice(base.length + 1)))) {
      problems.push(`reading _id ${d._id} does not match its readingId ${base}`);
    }
  }
  const missing = [...expected].filter((id) => !pairs.has(id));
  const duplicated = [...pairs].filter(([, n]) => n > 1).map(([id]) => id);
  const unexpected = [...pairs.keys()].filter((id) => !expected.has(id));
  if (missing.length) problems.push(`${missing.length} readings missing: ${limited(missing)}`);
  if (duplicated.length) problems.push(`${duplicated.length} readings stored more than once: ${limited(duplicated)}`);
  if (unexpected.length) problems.push(`${unexpected.length} readings not produced: ${limited(unexpected)}`);

  if (late.size && !o.allowLate) {
    problems.push(
      `${late.size} readings produced in order were refused as late (stored raw, missing from windows): ${
        limited([...late])
      }; first: ${lateDetail}`,
    );
  }

  // Windows, from the raw documents.
  const want = new Map<string, number>();
  const lateIn = new Map<string, number>();
  for (const d of raw) {
    const isLate = o.allowLate === true && late.has(seqKey(d));
    for (const k of windowKeys(d, sizes)) {
      if (isLate) lateIn.set(k, (lateIn.get(k) ?? 0) + 1);
      else want.set(k, (want.get(k) ?? 0) + 1);
    }
  }
  const windows = await o.db.collection(COLLECTIONS.windows).find({}, {
    projection: { kind: 1, group: 1, window_start: 1, window_end: 1, size_s: 1, count: 1 },
  }).toArray();
  const seen = new Set<string>();
  const mismatches: string[] = [];
  let withReplayedLate = 0;
  for (const w of windows) {
    const start = (w.window_start as Date).getTime();
    const size = Math.round(((w.window_end as Date).getTime() - start) / 1000);
    const key = `${w.kind}|${w.group}|${start}|${size}`;
    if (String(w._id) !== key) mismatches.push(`${w._id} (identity ${key})`);
    seen.add(key);
    const n = want.get(key) ?? 0;
    const extra = (w.count as number) - n;
    if (extra === 0) continue;
    if (extra > 0 && extra <= (lateIn.get(key) ?? 0)) {
      withReplayedLate++;
      continue;
    }
    mismatches.push(`${key} count ${w.count}, stored readings ${n}`);
  }
  const missingWindows = [...want.keys()].filter((k) => !seen.has(k));
  if (mismatches.length) problems.push(`${mismatches.length} windows wrong: ${limited(mismatches)}`);
  if (missingWindows.length) problems.push(`${missingWindows.length} windows missing: ${limited(missingWindows)}`);

  // Alerts.
  const alerts = await o.db.collection(COLLECTIONS.incidents).find({}, { projection: { sensor_id: 1, state: 1 } })
    .toArray();
  const ids = new Set(alerts.map((a) => String(a._id)));
  if (ids.size !== alerts.length) problems.push(`alert _ids not unique: ${alerts.length} documents, ${ids.size} ids`);
  const firing = new Map<string, number>();
  for (const a of alerts) {
    if (a.state !== "firing") continue;
    const k = String(a.sensor_id);
    firing.set(k, (firing.get(k) ?? 0) + 1);
  }
  const dupAlerts = [...firing].filter(([, n]) => n > 1).map(([k, n]) => `${k} x${n}`);
  if (dupAlerts.length) problems.push(`more than one open incident per sensor: ${limited(dupAlerts)}`);

  // Alert events: every stored alert was announced; repeats are at-least-once, reported only.
  let alertEvents = 0;
  let alertEventRepeats = 0;
  let alertsWithoutEvent = 0;
  if (o.alertTopic) {
    const events = await readTopic(o.kafka, o.alertTopic);
    const seenEvents = new Set<string>();
    const announced = new Set<string>();
    for (const e of events) {
      let id = "";
      try {
        id = String(JSON.parse(decoder.decode(e.value ?? new Uint8Array())).groupKey);
      } catch { /* counted as an event without id */ }
      const k = `${e.headers.event}|${id}`;
      if (seenEvents.has(k)) alertEventRepeats++;
      seenEvents.add(k);
      if (e.headers.event === "opened") announced.add(id);
    }
    alertEvents = events.length;
    const silent = alerts.filter((a) => !announced.has(String(a._id))).map((a) => String(a._id));
    alertsWithoutEvent = silent.length;
    if (silent.length) {
      problems.push(`${silent.length} stored alerts never announced on ${o.alertTopic}: ${limited(silent)}`);
    }
  }

  return {
    expected: expected.size,
    stored: raw.length,
    distinct: pairs.size,
    missing: missing.length,
    duplicated: duplicated.length,
    unexpected: unexpected.length,
    windows: windows.length,
    windowMismatches: mismatches.length,
    missingWindows: missingWindows.length,
    windowsWithReplayedLate: withReplayedLate,
    alerts: alerts.length,
    firingAlerts: [...firing.values()].reduce((a, b) => a + b, 0),
    duplicatedAlerts: dupAlerts.length,
    late: late.size,
    alertEvents,
    alertEventRepeats,
    alertsWithoutEvent,
    deadLetters: letters.size,
    deadLetterRecords: dlq.length,
    deadLetterDocs: deadDocs.length,
    byReason,
    letters: [...letters.values()],
    problems,
  };
}

/** The report's numbers without the letters (for the JSON summary line). */
export function reportNumbers(r: VerifyReport): Omit<VerifyReport, "letters" | "problems"> & { problems: number } {
  const { letters: _l, problems, ...rest } = r;
  return { ...rest, problems: problems.length };
}

/**
 * Waits until the known set is produced (every record acknowledged) and the
 * scenario's group committed all of it with `records` readings stored, then
 * verifies the pipeline against the set.
 */
export async function verifyKnownSet(s: Scenario, known: KnownSet, records: number): Promise<VerifyReport> {
  const result = await known.done;
  if (result.failed !== 0) throw new Error(`The producer had ${result.failed} record(s) not acknowledged`);
  await waitCaughtUp(s.admin, {
    group: s.names.group,
    topic: s.names.readings,
    extra: async () => (await s.storedCount()) >= records,
  });
  return await verifyPipeline({
    db: s.db,
    expected: expectedFromSequences(result.sequences),
    kafka: s.kafka,
    deadLetterTopic: s.names.deadLetters,
    alertTopic: s.names.alerts,
  });
}
