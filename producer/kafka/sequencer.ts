/**
 * Idempotent sequencing: the producer id and epoch, the next sequence number
 * of every partition, and the ordering rules that keep a partition's batches
 * reaching the broker in sequence order, across retries and producer id
 * changes. Pure: no I/O, no clock.
 *
 * A batch gets its sequence when first sent and keeps it on retries (so the
 * broker recognizes a batch it already wrote). A batch that fails definitively
 * leaves a gap the broker would refuse every later batch for, so the producer
 * takes a new producer id: a new *generation*, whose batches start again at 0.
 *
 * A partition's first batch of a generation is sent alone: until the broker
 * acknowledged it, the broker keeps no state for the producer id and would
 * accept a later batch (any sequence) ahead of it, should it fail.
 *
 * Sequences are given in batch order within a partition, wherever the batches
 * wait (a broker sender's queue, a backoff, a sender of a leader that has
 * gone): a batch is registered when created, and none gets a sequence while an
 * older batch of its partition has none in the current generation. Given in
 * order, the sequences make the broker write a partition's batches in order,
 * whichever broker leads it and however often they are retried.
 */
import type { PartitionBatch } from "./batch.ts";
import { patchIdentity, type ProducerIdentity } from "./protocol/record_batch.ts";

/** The per-partition sequence state of an idempotent producer (inert when not idempotent). */
export class Sequencer {
  #identity: ProducerIdentity = { producerId: -1n, producerEpoch: -1 };
  #sequences: number[] = [];
  #generation = 0;
  #resetting = false;
  /** Batches waiting out a retry backoff, per partition. */
  #backingOff = new Map<number, Set<PartitionBatch>>();
  /** Per partition: its first batch of the current generation, until acknowledged. */
  #unconfirmed = new Map<number, PartitionBatch>();
  /** Per partition: batches registered or given a sequence (in any generation) and not settled yet. */
  #open = new Map<number, Set<PartitionBatch>>();

  constructor(readonly idempotent: boolean) {}

  /** The current producer id and epoch (-1 when not idempotent or not obtained yet). */
  get identity(): ProducerIdentity {
    return this.#identity;
  }

  /** The current generation: it grows each time a new producer id is needed. */
  get generation(): number {
    return this.#generation;
  }

  /** Whether a new producer id is awaited (nothing may be sent meanwhile). */
  get resetting(): boolean {
    return this.#resetting;
  }

  /** Makes room for `n` partitions (new ones start at sequence 0). */
  ensurePartitions(n: number): void {
    while (this.#sequences.length < n) this.#sequences.push(0);
  }

  /** Takes a new producer id: every partition starts again at sequence 0, and sending may resume. */
  setIdentity(identity: ProducerIdentity): void {
    this.#identity = identity;
    this.#sequences.fill(0);
    this.#unconfirmed.clear();
    this.#resetting = false;
  }

  /**
   * Notes a new batch (call when it is created): until it has a sequence of
   * the current generation, newer batches of its partition get none.
   */
  register(batch: PartitionBatch): void {
    if (!this.idempotent) return;
    let open = this.#open.get(batch.partition);
    if (!open) this.#open.set(batch.partition, open = new Set());
    open.add(batch);
  }

  /**
   * Gives an idempotent batch the current producer id and the next sequence
   * numbers of its partition, unless it has them already (a retry keeps its
   * sequence, so the broker can tell it was written before).
   */
  assign(batch: PartitionBatch): void {
    if (!this.idempotent || batch.generation === this.#generation) return;
    const p = batch.partition;
    if (this.#sequences[p] === 0) this.#unconfirmed.set(p, batch);
    let open = this.#open.get(p);
    if (!open) this.#open.set(p, open = new Set());
    open.add(batch);
    batch.baseSequence = this.#sequences[p];
    batch.generation = this.#generation;
    this.#sequences[p] = (batch.baseSequence + batch.count) % 0x80000000;
    patchIdentity(batch.bytes, this.#identity, batch.baseSequence);
  }

  /** Notes that the broker acknowledged a batch. */
  acked(batch: PartitionBatch): void {
    if (this.#unconfirmed.get(batch.partition) === batch) this.#unconfirmed.delete(batch.partition);
    this.settled(batch);
  }

  /** Notes that a batch is done with: acknowledged, failed definitively, or replaced by its split halves. */
  settled(batch: PartitionBatch): void {
    this.#open.get(batch.partition)?.delete(batch);
  }

  /** Notes that a batch waits out a retry backoff (newer batches of its partition must wait for it). */
  backingOff(batch: PartitionBatch): void {
    let waiting = this.#backingOff.get(batch.partition);
    if (!waiting) this.#backingOff.set(batch.partition, waiting = new Set());
    waiting.add(batch);
  }

  /** Notes that a batch's backoff is over (it is queued for sending again). */
  resumed(batch: PartitionBatch): void {
    this.#backingOff.get(batch.partition)?.delete(batch);
  }

  /**
   * Whether a batch must wait: a new producer id is awaited, the first batch
   * of its partition in this generation is not acknowledged yet, it needs a
   * sequence while an older batch of its partition has none in this
   * generation (not sent yet, wherever it waits, or of an older producer id),
   * or an older batch of its partition is still waiting out a backoff
   * (idempotent sequences must reach the broker in order).
   */
  mustWait(batch: PartitionBatch): boolean {
    if (!this.idempotent) return false;
    if (this.#resetting) return true;
    const needsSequence = batch.generation !== this.#generation;
    const first = this.#unconfirmed.get(batch.partition);
    if (first && first !== batch && needsSequence) return true;
    if (needsSequence) {
      // An older batch without a sequence of this generation (never sent, or of an earlier
      // producer id) is unresolved: it takes its sequence first.
      for (const w of this.#open.get(batch.partition) ?? []) {
        if (w !== batch && w.generation !== this.#generation && w.order < batch.order) return true;
      }
    }
    const waiting = this.#backingOff.get(batch.partition);
    if (!waiting || waiting.size === 0) return false;
    for (const w of waiting) {
      // Batches of an older producer id get new sequences when re-sent: they hold back (above)
      // only batches that need a sequence too. Older batches never sent (no sequence yet) do hold
      // newer ones back: during an outage they back off longer (more attempts) and would
      // otherwise be overtaken and written after them.
      if (w.generation !== this.#generation && w.generation !== -1) continue;
      if (w.order < batch.order) return true;
    }
    return false;
  }

  /**
   * A batch failed definitively. Returns true when that leaves a gap in its
   * partition's sequence, i.e. a new producer id must be obtained (and
   * `setIdentity` called with it); sending waits until then.
   */
  failed(batch: PartitionBatch): boolean {
    if (!this.idempotent || batch.generation !== this.#generation || this.#resetting) return false;
    this.#resetting = true;
    this.#generation++;
    return true;
  }
}
