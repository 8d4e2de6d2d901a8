/**
 * Differences of the local MongoDB stand-in (mongo-java-server) the processor
 * works around. The unique indexes "one open incident per subject"
 * (`open_incident_per_sensor`, `open_incident_per_url`) need
 * partial-index support. A server that ignores `partialFilterExpression`
 * would make them unique over resolved incidents too, so that a subject could
 * never have a second incident: there the indexes are dropped and the
 * incidents sink alone keeps one open incident per subject.
 */
import type { Db } from "mongodb";
import { COLLECTIONS, type Logger } from "@iot/shared";

/** The partial unique indexes of open incidents, by collection. */
export const OPEN_ALERT_INDEXES: Readonly<Record<string, string>> = {
  [COLLECTIONS.incidents]: "open_incident_per_sensor",
  [COLLECTIONS.websiteAlerts]: "open_incident_per_url",
};

/** Whether the server honours `partialFilterExpression` (probed on a scratch collection). */
export async function supportsPartialIndexes(db: Db): Promise<boolean> {
  const probe = db.collection(`_processor_probe_${crypto.randomUUID().slice(0, 8)}`);
  try {
    await probe.createIndex({ a: 1 }, { unique: true, partialFilterExpression: { s: "firing" }, name: "p" });
    await probe.insertOne({ a: 1, s: "resolved" });
    await probe.insertOne({ a: 1, s: "resolved" });
    return true;
  } catch {
    return false;
  } finally {
    await probe.drop().catch(() => {});
  }
}

/**
 * Probes partial-index support; without it, drops the open-alert index of each
 * of `collections` and says so once. Returns whether the server is the stand-in
 * (no partial indexes).
 */
export async function adaptToStandIn(db: Db, collections: readonly string[], log: Logger): Promise<boolean> {
  if (await supportsPartialIndexes(db)) return false;
  for (const c of collections) {
    const index = OPEN_ALERT_INDEXES[c];
    if (!index) continue;
    log.warn(
      `This MongoDB server does not honour partial indexes: dropping ${c}.${index}; the processor keeps one open incident per subject itself`,
    );
    await db.collection(c).dropIndex(index).catch(() => {});
  }
  return true;
}
