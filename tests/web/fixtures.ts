/**
 * Documents in the shapes of `shared/documents.ts`, as the processor writes them,
 * for dashboard tests and the screenshot.
 */
import type { Db } from "mongodb";
import {
  type AlertDoc,
  COLLECTIONS,
  type DeadLetterDoc,
  describeType,
  LOCATIONS,
  type PipelineStatsDoc,
  type ReadingDoc,
  SENSOR_TYPES,
  sensorId,
  sensorProfile,
  type WindowDoc,
} from "@iot/shared";

/**
 * A type/location window with plausible values: inside the normal band of a built-in type,
 * around 0 to 100 for a type nobody described (any type and location, e.g. `co2` in `lab-7`).
 */
export function windowDoc(
  type: string,
  location: string,
  start: number,
  avg?: number,
  size = 10,
): WindowDoc {
  const band = describeType(type)?.band ?? { min: 0, max: 100 };
  const mid = (band.min + band.max) / 2;
  const span = band.max - band.min;
  const a = avg ?? mid + span * 0.3 * Math.sin(start / 60_000 + (LOCATIONS as readonly string[]).indexOf(location));
  const count = 40;
  return {
    _id: `type_location|${type}/${location}|${start}|${size}`,
    kind: "type_location",
    group: `${type}/${location}`,
    sensor_type: type,
    location,
    window_start: new Date(start),
    window_end: new Date(start + size * 1000),
    size_s: size,
    count,
    sum: a * count,
    min: a - span * 0.15,
    max: a + span * 0.15,
    avg: a,
    stddev: span * 0.05,
    last: a,
    first_event_time: new Date(start),
    last_event_time: new Date(start + size * 1000 - 1),
    anomalies: 0,
    final: true,
    updated_at: new Date(start + size * 1000 + 500),
  };
}

/** A sensor window. */
export function sensorWindowDoc(id: string, start: number, avg: number, size = 10): WindowDoc {
  const p = sensorProfile(id);
  const w = windowDoc(p.sensorType, p.location, start, avg, size);
  return { ...w, _id: `sensor|${id}|${start}|${size}`, kind: "sensor", group: id, sensor_id: id, count: 10 };
}

/** An alert. */
export function alertDoc(id: string, over: Partial<AlertDoc> = {}): AlertDoc {
  const now = over.last_seen?.getTime() ?? Date.now();
  const p = sensorProfile(over.sensor_id ?? "sensor_0001");
  const rule = over.rule ?? "threshold";
  return {
    _id: id,
    type: rule,
    rule,
    severity: "critical",
    sensor_id: p.sensorId,
    sensor_type: p.sensorType,
    location: p.location,
    value: 48.2,
    threshold: 45,
    message: `${p.sensorType} ${rule} exceeded`,
    first_seen: new Date(now - 30_000),
    last_seen: new Date(now),
    count: 3,
    state: "firing",
    acknowledged: false,
    updated_at: new Date(now),
    ...over,
  };
}

/** Seeds a database with 10 minutes of windows, readings, alerts, heartbeats and dead letters. */
export async function seedDashboard(db: Db, now = Date.now()): Promise<void> {
  const end = Math.floor(now / 10_000) * 10_000 - 10_000;
  const windows: WindowDoc[] = [];
  for (let t = end - 9 * 60_000; t <= end; t += 10_000) {
    for (const type of SENSOR_TYPES) for (const loc of LOCATIONS) windows.push(windowDoc(type, loc, t));
  }
  for (let i = 0; i < windows.length; i += 1000) {
    await db.collection<WindowDoc>(COLLECTIONS.windows).insertMany(windows.slice(i, i + 1000));
  }
  const sensor = sensorId(1);
  const sw: WindowDoc[] = [];
  for (let t = end - 120_000; t <= end; t += 10_000) sw.push(sensorWindowDoc(sensor, t, 20 + Math.sin(t / 20_000)));
  await db.collection<WindowDoc>(COLLECTIONS.windows).insertMany(sw);
  const readings: ReadingDoc[] = [];
  for (let i = 0; i < 120; i++) {
    const t = now - (120 - i) * 1000;
    readings.push({
      _id: `${sensor}:${i}`,
      sensor_id: sensor,
      sensor_type: "temperature",
      location: "factory-floor-a1",
      value: 20 + 2 * Math.sin(i / 10),
      status: "normal",
      seq: i,
      timestamp: new Date(t),
      metadata: { unit: "°C", sensor_model: "TMP117", battery_level: 90 },
      ingested_at: new Date(t + 50),
    });
  }
  await db.collection<ReadingDoc>(COLLECTIONS.readings).insertMany(readings);
  await db.collection<AlertDoc>(COLLECTIONS.incidents).insertMany([
    alertDoc("sensor_0001|threshold|1", { last_seen: new Date(now - 5000), message: "temperature 48.2 °C above 45" }),
    alertDoc("sensor_0014|silence|1", {
      sensor_id: "sensor_0014",
      rule: "silence",
      severity: "warning",
      message: "no reading for 60 s",
      last_seen: new Date(now - 20_000),
    }),
    alertDoc("sensor_0009|zscore|1", {
      sensor_id: "sensor_0009",
      rule: "zscore",
      severity: "warning",
      state: "resolved",
      resolved_at: new Date(now - 60_000),
      message: "z-score 4.1 against the 60 s baseline",
      last_seen: new Date(now - 90_000),
    }),
  ]);
  const stats: PipelineStatsDoc[] = [
    {
      _id: "processor:host-1",
      role: "processor",
      instance: "host-1",
      updated_at: new Date(now),
      started_at: new Date(now - 3_600_000),
      rate: 1012,
      totals: {
        consumed: 3_600_000,
        stored: 3_599_100,
        dead_letters: 50,
        outcome_stored: 3_599_100,
        outcome_duplicate: 850,
        outcome_dead_lettered: 12,
        outcome_late: 38,
        dead_lettered_invalid_json: 4,
        dead_lettered_out_of_range: 8,
        seq_gap: 3,
        seq_missing: 9,
        seq_restart: 1,
      },
      lag: { "0": 4, "1": 0, "2": 7 },
      e2e_lag_ms: 180,
    },
    {
      _id: "producer:host-1",
      role: "producer",
      instance: "host-1",
      updated_at: new Date(now),
      started_at: new Date(now - 3_600_000),
      rate: 1000,
      totals: { sent: 3_600_000 },
    },
  ];
  await db.collection<PipelineStatsDoc>(COLLECTIONS.pipelineStats).insertMany(stats);
  const letters: DeadLetterDoc[] = [1, 2, 3].map((i) => ({
    _id: `sensor-data:0:${100 + i}`,
    reason: (i === 1 ? "invalid_json" : "out_of_range") as DeadLetterDoc["reason"],
    detail: i === 1 ? "Unexpected token } in JSON" : "value 999 outside 0..100",
    origin: { topic: "sensor-data", partition: 0, offset: String(100 + i), key: sensorId(i) },
    preview: i === 1 ? '{"sensor_id": "sensor_0001", }' : '{"value": 999}',
    size: 32,
    failed_at: new Date(now - i * 7000),
  }));
  await db.collection<DeadLetterDoc>(COLLECTIONS.deadLetters).insertMany(letters);
}
