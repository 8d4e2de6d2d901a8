/** The readings topic's partition count, as the metadata says. */
import type { Admin } from "kafkajs";
import { retry } from "@iot/shared";

/**
 * The partition count of `topic`, from metadata (a topic created a moment ago
 * may have no leader yet, which offsets requests would refuse); retried within
 * 30 s while the topic settles.
 *
 * @example
 * ```ts
 * const n = await partitionCount(admin, "sensor-readings"); // 6
 * ```
 */
export function partitionCount(admin: Admin, topic: string): Promise<number> {
  return retry(async () => {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    const n = topics.find((t) => t.name === topic)?.partitions.length ?? 0;
    if (n === 0) throw new Error(`Topic ${topic} has no partitions in the metadata yet`);
    return n;
  }, { deadlineMs: 30_000, maxMs: 1000 });
}

/**
 * Whether the partitions `owned` are every partition of a topic of `count`
 * (then this instance alone writes the shared windows).
 *
 * @example
 * ```ts
 * ownsAll([0, 1, 2], 3); // true
 * ownsAll([0, 2], 3); // false
 * ```
 */
export function ownsAll(owned: readonly number[], count: number): boolean {
  return count > 0 && owned.length === count && owned.every((p) => p < count);
}
