/**
 * The query both incident collections answer (sensor and website incidents
 * share their fields): state, severity, acknowledged, rule, updated since,
 * most recently seen first.
 */
import type { Collection, Document, Filter } from "mongodb";

/** Lifecycle filters of an alert query. */
export interface LifecycleQuery {
  state?: "firing" | "resolved";
  severity?: "warning" | "critical";
  acknowledged?: boolean;
  /** Only incidents in which this rule fired. */
  rule?: string;
  /** Only alerts updated strictly after this time. */
  since?: Date;
  limit: number;
}

/** The MongoDB filter of the lifecycle fields of a query. */
export function lifecycleFilter(q: LifecycleQuery): Record<string, unknown> {
  const f: Record<string, unknown> = {};
  if (q.state) f.state = q.state;
  if (q.severity) f.severity = q.severity;
  if (q.acknowledged !== undefined) f.acknowledged = q.acknowledged;
  if (q.rule) f[`rules.${q.rule}`] = { $exists: true };
  if (q.since) f.updated_at = { $gt: q.since };
  return f;
}

/** Alerts of a collection matching the query and `extra`, most recently seen first, converted for the wire. */
export async function findAlerts<D extends Document, W>(
  col: Collection<D>,
  q: LifecycleQuery,
  extra: Record<string, unknown>,
  toWire: (d: D) => W,
): Promise<W[]> {
  const filter = { ...lifecycleFilter(q), ...extra } as Filter<D>;
  const docs = await col.find(filter).sort({ last_seen: -1 }).limit(q.limit).toArray();
  return docs.map((d) => toWire(d as D));
}

/**
 * Sets `acknowledged` on an alert of a collection (the processor's `state` is
 * left alone). Returns the updated document, or undefined when there is none.
 */
export async function acknowledgeAlert<D extends Document>(
  col: Collection<D>,
  id: string,
  by: string,
  now: Date = new Date(),
): Promise<D | undefined> {
  const set = { acknowledged: true, acknowledged_at: now, acknowledged_by: by, updated_at: now };
  const r = await col.updateOne({ _id: id } as Filter<D>, { $set: set } as never);
  if (r.matchedCount === 0) return undefined;
  return (await col.findOne({ _id: id } as Filter<D>) as D | null) ?? undefined;
}
