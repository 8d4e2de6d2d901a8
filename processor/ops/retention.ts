/**
 * Raw-reading and anomaly-event retention by a job, on every server: TTL
 * indexes are inert on the local stand-in, so readings and events older than
 * `RAW_RETENTION_DAYS` are deleted by the processor (hourly and at start).
 */
import type { Collection, Filter } from "mongodb";
import type { Logger } from "@iot/shared";

/** The cutoff of raw retention at `now`: readings with an earlier timestamp expire. */
export function retentionCutoff(now: number, days: number): Date {
  return new Date(now - days * 86_400_000);
}

/** Deletes expired documents (by `timestamp`: raw readings, anomaly events); returns how many. */
export async function deleteExpired<T extends { timestamp: Date }>(
  col: Collection<T>,
  o: { days: number; now: number; log: Logger },
): Promise<number> {
  const cutoff = retentionCutoff(o.now, o.days);
  const r = await col.deleteMany({ timestamp: { $lt: cutoff } } as Filter<T>);
  if (r.deletedCount) {
    o.log.info("Deleted expired documents", {
      collection: col.collectionName,
      deleted: r.deletedCount,
      before: cutoff,
    });
  }
  return r.deletedCount;
}
