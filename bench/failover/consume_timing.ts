/** Per-partition timings of a consumer around a fault, from when it consumed each record and the topic's log. */
import { inLogOrder } from "../../tests/cluster/helpers.ts";
import type { TopicRecord } from "../../tests/reliability/harness.ts";

/** Per partition (0–2): the longest gap between consumption times after `faultAt`, the fault counting as the first. */
export function consumeGaps(times: ReadonlyMap<number, readonly number[]>, faultAt: number): Record<number, number> {
  const gap: Record<number, number> = {};
  for (const p of [0, 1, 2]) {
    const list = (times.get(p) ?? []).filter((t) => t >= faultAt).sort((a, b) => a - b);
    let previous = faultAt;
    let g = 0;
    for (const t of list) {
      g = Math.max(g, t - previous);
      previous = t;
    }
    gap[p] = g;
  }
  return gap;
}

/**
 * Per partition (0–2): from `faultAt` to the first consumption (`firstAt`, keyed `partition@offset`) of the first
 * record appended at or after it; null when the partition had no such record or it was never consumed.
 */
export function firstConsumedAfter(
  records: readonly TopicRecord[],
  firstAt: ReadonlyMap<string, number>,
  faultAt: number,
): Record<number, number | null> {
  const out: Record<number, number | null> = { 0: null, 1: null, 2: null };
  for (const [p, list] of inLogOrder(records)) {
    const first = list.find((r) => r.timestamp >= faultAt);
    if (!first) continue;
    const t = firstAt.get(`${p}@${first.offset}`);
    out[p] = t === undefined ? null : t - faultAt;
  }
  return out;
}
