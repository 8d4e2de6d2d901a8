/**
 * Offset bookkeeping of the partitions this instance owns: the one place of
 * the commit-after-write invariant.
 *
 * - `track` registers a fetched batch with the promise of its writes. The
 *   batch's next offset becomes *processed* (committable) only once those
 *   writes and every earlier batch of the same partition have completed, in
 *   fetch order; a failed batch never becomes processed, nor does any later
 *   one of its partition.
 * - `committable` lists the processed offsets not yet committed, of owned
 *   partitions; the caller commits them only after flushing what the
 *   in-memory state holds (windows, alerts), then calls `committed`.
 * - `assign` keeps the owned set; a revoked partition's progress is forgotten
 *   (its new owner resumes from the committed offset), and batches of it still
 *   in flight can no longer make anything processed.
 * - `foldedUpTo` is the highest offset folded into the in-memory windows, so a
 *   batch fetched again is recognized as a replay.
 * - `knownCommitted` takes the group's committed offsets of partitions just
 *   gained (read from the broker), so `committedOffset` and the lag are right
 *   for a gained partition before, or without, this instance committing it.
 */

/** An offset to commit: the next offset to read of a partition. */
export interface PartitionOffset {
  partition: number;
  offset: number;
}

/** What changed with an assignment. */
export interface AssignmentChange {
  revoked: number[];
  gained: number[];
}

/** Tracks fetched, processed and committed offsets per partition. */
export class OffsetTracker {
  #owned = new Set<number>();
  /** Bumped when a partition is revoked: batches tracked before can no longer complete it. */
  #epoch = new Map<number, number>();
  #processed = new Map<number, number>();
  #committed = new Map<number, number>();
  #folded = new Map<number, number>();
  #chains = new Map<number, Promise<void>>();
  #inflight = new Set<Promise<void>>();

  /** The owned partitions, ascending. */
  get assigned(): number[] {
    return [...this.#owned].sort((a, b) => a - b);
  }

  /** Whether this instance owns `partition`. */
  owns(partition: number): boolean {
    return this.#owned.has(partition);
  }

  /** Replaces the owned partitions; forgets the progress of revoked ones. */
  assign(partitions: Iterable<number>): AssignmentChange {
    const next = new Set(partitions);
    const revoked = [...this.#owned].filter((p) => !next.has(p));
    const gained = [...next].filter((p) => !this.#owned.has(p));
    for (const p of revoked) this.#forget(p);
    this.#owned = next;
    return { revoked, gained };
  }

  /** Forgets every partition's uncommitted progress but keeps the assignment (re-read from the committed offsets). */
  rewind(): void {
    for (const p of [...this.#owned]) this.#forget(p);
  }

  #forget(p: number): void {
    this.#epoch.set(p, (this.#epoch.get(p) ?? 0) + 1);
    this.#folded.delete(p);
    this.#processed.delete(p);
    this.#committed.delete(p);
    this.#chains.delete(p);
  }

  /** Highest offset of `partition` folded into memory; −1 when none. */
  foldedUpTo(partition: number): number {
    return this.#folded.get(partition) ?? -1;
  }

  /** Records that offsets up to `offset` of `partition` are folded into memory. */
  folded(partition: number, offset: number): void {
    this.#folded.set(partition, Math.max(this.foldedUpTo(partition), offset));
  }

  /**
   * Registers a batch of `partition` whose next offset is `next`: once `work`
   * and every earlier batch of the partition resolved, `then` runs with the
   * work's result and `next` becomes processed. The returned promise settles
   * with it (rejects when the work failed).
   */
  track<T>(partition: number, next: number, work: Promise<T>, then?: (result: T) => void): Promise<void> {
    const epoch = this.#epoch.get(partition) ?? 0;
    const prev = this.#chains.get(partition) ?? Promise.resolve();
    const chain = prev.then(() => work).then((result) => {
      if ((this.#epoch.get(partition) ?? 0) !== epoch || !this.#owned.has(partition)) return;
      then?.(result);
      this.#processed.set(partition, next);
    });
    // A failed batch fails the rest of its partition's chain: nothing after it becomes processed.
    this.#chains.set(partition, chain);
    this.#inflight.add(chain);
    chain.finally(() => this.#inflight.delete(chain)).catch(() => {});
    return chain;
  }

  /** Marks a batch processed at once (nothing to write: the consume-only baseline). */
  complete(partition: number, next: number): void {
    if (this.#owned.has(partition)) this.#processed.set(partition, next);
  }

  /** Batches tracked whose work has not settled. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /** Waits until at most `max` batches are in flight (resolves early when one fails). */
  async waitBelow(max: number, abandoned: () => boolean = () => false): Promise<void> {
    while (this.#inflight.size > max) {
      await Promise.race(this.#inflight).catch(() => {});
      if (abandoned()) return;
    }
  }

  /** Waits until every tracked batch settled; rejects with the first failure. */
  async drain(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.all([...this.#inflight]);
  }

  /** Processed offsets of owned partitions that are not committed yet (a snapshot: take it before flushing). */
  committable(): PartitionOffset[] {
    return [...this.#processed]
      .filter(([p, o]) => this.#owned.has(p) && this.#committed.get(p) !== o)
      .map(([partition, offset]) => ({ partition, offset }));
  }

  /**
   * Records the group's committed offsets of owned partitions as read from the broker, where this
   * instance has not committed since it gained them (its own commits are newer).
   */
  knownCommitted(offsets: readonly PartitionOffset[]): void {
    for (const o of offsets) {
      if (this.#owned.has(o.partition) && !this.#committed.has(o.partition)) this.#committed.set(o.partition, o.offset);
    }
  }

  /**
   * Where to resume fetching `kept` partitions (owned before and after a rejoin): after the last offset
   * folded into memory. kafkajs starts each generation at the committed offsets, which would fetch again
   * every record processed since the last commit (after a lost coordinator, all since it was lost); a
   * partition kept keeps its in-memory state, so it goes on where it was, as Kafka's Java consumer does.
   * Partitions with nothing folded (new, or rewound) are left out: they start at the committed offset.
   */
  resumePositions(kept: Iterable<number>): PartitionOffset[] {
    const out: PartitionOffset[] = [];
    for (const p of kept) {
      const folded = this.foldedUpTo(p);
      if (this.#owned.has(p) && folded >= 0) out.push({ partition: p, offset: folded + 1 });
    }
    return out.sort((a, b) => a.partition - b.partition);
  }

  /** Records offsets as committed. */
  committed(offsets: readonly PartitionOffset[]): void {
    for (const o of offsets) if (this.#owned.has(o.partition)) this.#committed.set(o.partition, o.offset);
  }

  /** The committed offset of `partition` (by this instance), if any. */
  committedOffset(partition: number): number | undefined {
    return this.#committed.get(partition);
  }

  /** Committed offsets of owned partitions, by partition. */
  committedAll(): Record<string, number> {
    return Object.fromEntries([...this.#committed].map(([p, o]) => [String(p), o]));
  }

  /** Processed but uncommitted records per owned partition (what a stop now would leave to be re-read). */
  uncommitted(): Record<string, { processed: number; committed: number | null }> {
    const out: Record<string, { processed: number; committed: number | null }> = {};
    for (const [p, o] of this.#processed) {
      const c = this.#committed.get(p);
      if (this.#owned.has(p) && c !== o) out[String(p)] = { processed: o, committed: c ?? null };
    }
    return out;
  }
}
