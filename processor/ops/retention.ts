/**
 * Raw-reading retention by a job, on every server: TTL indexes are inert on
 * the local stand-in, so readings older than `RAW_RETENTION_DAYS` are deleted
 * by the processor (hourly and at start).
 */
import type { Collection } from "mongodb";
import type { Logger, ReadingDoc } from "@iot/shared";

/** The cutoff of raw retention at `now`: readings with an earlier timestamp expire. */
export function retentionCutoff(now: number, days: number): Date {
  return new Date(now - days * 86_400_000);
}

/** Deletes expired raw readings; returns how many. */
export async function deleteExpired(
  raw: Collection<ReadingDoc>,
  o: { days: number; now: number; log: Logger },
): Promise<number> {
  const cutoff = retentionCutoff(o.now, o.days);
  const r = await raw.deleteMany({ timestamp: { $lt: cutoff } });
  if (r.deletedCount) o.log.info("Deleted expired raw readings", { deleted: r.deletedCount, before: cutoff });
  return r.deletedCount;
}
