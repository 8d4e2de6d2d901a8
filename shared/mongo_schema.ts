/**
 * Collections and indexes the pipeline expects, the one definition used by the
 * processor at start-up and checked against `init-mongo.js` by a test.
 */
import type { Db, IndexDescription } from "mongodb";
import { COLLECTIONS } from "./names.ts";

/** An index the pipeline relies on. */
export interface IndexSpec extends IndexDescription {
  name: string;
}

/** Default retention of raw readings in days. */
export const DEFAULT_RAW_RETENTION_DAYS = 7;

/** Indexes per collection. The TTL of raw readings is set from config at start-up. */
export function indexSpecs(rawRetentionDays: number = DEFAULT_RAW_RETENTION_DAYS): Record<string, IndexSpec[]> {
  return {
    [COLLECTIONS.readings]: [
      { name: "timestamp_ttl", key: { timestamp: 1 }, expireAfterSeconds: Math.round(rawRetentionDays * 86400) },
      { name: "sensor_id_timestamp", key: { sensor_id: 1, timestamp: -1 } },
    ],
    [COLLECTIONS.windows]: [
      { name: "window_start", key: { window_start: -1 } },
      { name: "sensor_type_location", key: { sensor_type: 1, location: 1 } },
      { name: "kind_size_window_start", key: { kind: 1, size_s: 1, window_start: -1 } },
    ],
    // Anomaly events: the seed's three indexes; the first also expires them with the raw readings.
    [COLLECTIONS.events]: [
      { name: "timestamp", key: { timestamp: -1 }, expireAfterSeconds: Math.round(rawRetentionDays * 86400) },
      { name: "sensor_id_timestamp", key: { sensor_id: 1, timestamp: -1 } },
      { name: "alert_type_timestamp", key: { alert_type: 1, timestamp: -1 } },
    ],
    [COLLECTIONS.incidents]: [
      { name: "state_last_seen", key: { state: 1, last_seen: -1 } },
      {
        name: "open_incident_per_sensor",
        key: { sensor_id: 1 },
        unique: true,
        partialFilterExpression: { state: "firing" },
      },
    ],
    [COLLECTIONS.silences]: [
      { name: "expires_at", key: { expires_at: -1 } },
    ],
    [COLLECTIONS.deadLetters]: [
      { name: "failed_at", key: { failed_at: -1 } },
    ],
    [COLLECTIONS.pipelineStats]: [],
    [COLLECTIONS.websiteMetrics]: [
      { name: "kind_url_window_start", key: { kind: 1, url: 1, window_start: -1 } },
    ],
    [COLLECTIONS.websiteAlerts]: [
      { name: "state_last_seen", key: { state: 1, last_seen: -1 } },
      {
        name: "open_incident_per_url",
        key: { url: 1 },
        unique: true,
        partialFilterExpression: { state: "firing" },
      },
    ],
  };
}

/** What `ensureSchema` did, for the start-up log. */
export interface SchemaReport {
  created: string[];
  indexes: number;
  warnings: string[];
}

/**
 * Creates missing collections and indexes (idempotent). Index options a server
 * does not support are reported in `warnings` instead of failing start-up.
 */
export async function ensureSchema(db: Db, rawRetentionDays?: number): Promise<SchemaReport> {
  const specs = indexSpecs(rawRetentionDays);
  const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  const report: SchemaReport = { created: [], indexes: 0, warnings: [] };
  for (const [name, indexes] of Object.entries(specs)) {
    if (!existing.has(name)) {
      try {
        await db.createCollection(name);
        report.created.push(name);
      } catch (e) {
        if (!/already exists/i.test((e as Error).message)) throw e;
      }
    }
    if (indexes.length === 0) continue;
    try {
      await db.collection(name).createIndexes(indexes);
      report.indexes += indexes.length;
    } catch (e) {
      // A changed retention: the TTL index exists with another expireAfterSeconds.
      const ttl = indexes.find((i) => i.expireAfterSeconds !== undefined);
      if (ttl && (e as { code?: number }).code === 85) {
        await db.command({ collMod: name, index: { name: ttl.name, expireAfterSeconds: ttl.expireAfterSeconds } });
        report.warnings.push(`Index ${name}.${ttl.name}: retention changed to ${ttl.expireAfterSeconds} s`);
        await db.collection(name).createIndexes(indexes.filter((i) => i !== ttl));
        report.indexes += indexes.length;
        continue;
      }
      // One by one, so that one unsupported option does not cost the others.
      for (const spec of indexes) {
        try {
          await db.collection(name).createIndexes([spec]);
          report.indexes++;
        } catch (err) {
          report.warnings.push(`Index ${name}.${spec.name} not created: ${(err as Error).message}`);
        }
      }
    }
  }
  return report;
}
