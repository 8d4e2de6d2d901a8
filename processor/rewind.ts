/**
 * Rewind after a write that gave up (its retries ran past their deadline):
 * the processor drops everything not committed and fetches again from the
 * committed offsets, as a restart would. Records fetched again are replays:
 * the offsets folded into each stored window part (`parts.p<N>.offset`) keep
 * them from being counted twice.
 *
 * This module says which failures rewind and where each partition resumes;
 * the pipeline resets its stages.
 */
import type { Admin } from "kafkajs";
import type { Logger } from "@iot/shared";
import type { PartitionOffset } from "./source/offsets.ts";
import { AbandonedError } from "./sinks/retrying.ts";

/**
 * Whether a failure is handled by a rewind: not while stopping, and not when
 * the stop abandoned the write (then the records are read at the next start).
 */
export function rewinds(e: unknown, stopping: boolean): boolean {
  return !stopping && !(e instanceof AbandonedError);
}

/** Where a rewind resumes. */
export interface ResumePositions {
  /** The group's committed offsets (partitions without one are absent). */
  committed: PartitionOffset[];
  /** The offset to seek each partition to: the committed one, else the start of the log. */
  seek: Map<number, number>;
}

/**
 * The positions to resume from, given the group's committed offsets (−1:
 * none) and the topic's offsets.
 *
 * @example
 * ```ts
 * resumePositions([{ partition: 0, offset: "42" }, { partition: 1, offset: "-1" }], [
 *   { partition: 0, low: "0" },
 *   { partition: 1, low: "7" },
 * ]); // committed [{ partition: 0, offset: 42 }], seek 0 → 42, 1 → 7
 * ```
 */
export function resumePositions(
  committed: readonly { partition: number; offset: string }[],
  ends: readonly { partition: number; low: string }[],
): ResumePositions {
  const seek = new Map<number, number>();
  for (const p of committed) seek.set(p.partition, Number(p.offset));
  const known = [...seek].filter(([, o]) => o >= 0).map(([partition, offset]) => ({ partition, offset }));
  for (const p of ends) if ((seek.get(p.partition) ?? -1) < 0) seek.set(p.partition, Number(p.low));
  return { committed: known, seek };
}

/** Options of `readResumePositions`. */
export interface ReadResumeOptions {
  admin: Admin;
  groupId: string;
  topic: string;
  log: Logger;
}

/** Reads the group's committed offsets and the topic's offsets from the broker (throws, logged, when it cannot). */
export async function readResumePositions(o: ReadResumeOptions): Promise<ResumePositions> {
  try {
    const [committed, ends] = await Promise.all([
      o.admin.fetchOffsets({ groupId: o.groupId, topics: [o.topic] }),
      o.admin.fetchTopicOffsets(o.topic),
    ]);
    return resumePositions(committed[0]?.partitions ?? [], ends);
  } catch (err) {
    o.log.error("Rewind failed: the consumer restarts from its committed offsets", { error: err });
    throw err;
  }
}
