/**
 * The produce pipeline to one broker: a queue of partition batches, up to
 * `maxInFlight` Produce requests on one connection, retries sent first and
 * in order, and each response's per-partition results handed back. A batch
 * whose partition is now led by another broker is handed over to that
 * broker's sender rather than sent here (or stranded here while this broker
 * is down).
 */
import type { PartitionBatch } from "./batch.ts";
import type { Connection } from "./connection.ts";
import { DUPLICATE_SEQUENCE, isRetriable, protocolError } from "./errors.ts";
import type { Reader } from "./protocol/bytes.ts";
import { decodeProduceResponse, encodeProduceRequest, PRODUCE } from "./protocol/produce.ts";

/** What a broker sender needs from its producer. */
export interface BrokerSenderOptions {
  /** The broker's node id (for messages). */
  node: number;
  topic: string;
  acks: -1 | 0 | 1;
  /** Broker-side ack timeout; a response is awaited this plus 5 s. */
  requestTimeoutMs: number;
  /** Produce requests in flight at once. */
  maxInFlight: number;
  /** Opens a connection to the broker (rejects when it is unknown or unreachable). */
  connect: () => Promise<Connection>;
  /** Whether this broker leads `partition` as far as the producer knows (else its batches are handed over). */
  leads: (partition: number) => boolean;
  /** Hands a batch to the sender of its partition's current leader (`retry` as in `enqueue`). */
  handOver: (batch: PartitionBatch, retry: boolean) => void;
  /**
   * Batches were given their sequences and sent, or their responses handled: newer batches of their
   * partitions waiting at another broker's sender may go now.
   */
  onProgress?: () => void;
  /** Ordering rules of idempotent sequences (see `Sequencer`). */
  sequencer: {
    mustWait(batch: PartitionBatch): boolean;
    assign(batch: PartitionBatch): void;
  };
  /** The broker acknowledged a batch (or has it already: a duplicate sequence). */
  onAcked: (batch: PartitionBatch) => void;
  /** A batch failed with a retriable error (a connection loss included). */
  onRetriable: (batch: PartitionBatch, error: Error) => void;
  /** A batch failed definitively. */
  onFailed: (batch: PartitionBatch, error: Error) => void;
}

/** The produce pipeline to one broker: a queue, up to `maxInFlight` requests, retries first and in order. */
export class BrokerSender {
  #queue: PartitionBatch[] = [];
  #retries: PartitionBatch[] = [];
  #inFlight = 0;
  #conn: Connection | undefined;
  #connecting: Promise<Connection> | undefined;
  #closed = false;

  constructor(readonly options: BrokerSenderOptions) {}

  /** Queues a batch (a retry goes before new batches) and sends what can be sent. */
  enqueue(batch: PartitionBatch, retry = false): void {
    if (retry) {
      this.#retries.push(batch);
      this.#retries.sort((a, b) => a.partition - b.partition || a.order - b.order);
    } else this.#queue.push(batch);
    this.pump();
  }

  /** Closes the connection; requests in flight fail. */
  close(): void {
    this.#closed = true;
    this.#conn?.close();
  }

  /** Hands the batches of partitions this broker no longer leads to their leader's sender, oldest first. */
  #handOverMoved(): void {
    const { leads, handOver } = this.options;
    const moved: [PartitionBatch, boolean][] = [];
    for (const [source, retry] of [[this.#retries, true], [this.#queue, false]] as const) {
      for (let i = 0; i < source.length;) {
        if (leads(source[i].partition)) i++;
        else moved.push([source.splice(i, 1)[0], retry]);
      }
    }
    for (const [b, retry] of moved) handOver(b, retry);
  }

  /**
   * Takes the next request's batches: at most one per partition, retries
   * before new batches, and nothing that would overtake an older batch of its
   * partition still waiting to be retried.
   */
  #take(): PartitionBatch[] {
    const { sequencer } = this.options;
    const out: PartitionBatch[] = [];
    const used = new Set<number>();
    this.#handOverMoved();
    for (const source of [this.#retries, this.#queue]) {
      for (let i = 0; i < source.length;) {
        const b = source[i];
        // A partition with a retry pending sends nothing newer before it.
        if (
          used.has(b.partition) || sequencer.mustWait(b) ||
          (source === this.#queue && this.#retries.some((r) => r.partition === b.partition))
        ) {
          i++;
          continue;
        }
        used.add(b.partition);
        sequencer.assign(b);
        out.push(b);
        source.splice(i, 1);
      }
      if (out.length) break;
    }
    return out;
  }

  #connection(): Promise<Connection> {
    if (this.#conn && !this.#conn.closed) return Promise.resolve(this.#conn);
    this.#connecting ??= (async () => {
      try {
        this.#conn = await this.options.connect();
        return this.#conn;
      } finally {
        this.#connecting = undefined;
      }
    })();
    return this.#connecting;
  }

  /** Sends what can be sent now. */
  pump(): void {
    this.#pumpAsync();
  }

  async #pumpAsync(): Promise<void> {
    if (this.#closed) return;
    const o = this.options;
    // Nothing waits here for a connection to a broker that no longer leads its partition.
    this.#handOverMoved();
    while (this.#inFlight < o.maxInFlight && (this.#retries.length || this.#queue.length)) {
      let conn: Connection;
      try {
        conn = await this.#connection();
      } catch (e) {
        // Hand everything waiting to the retry logic (with backoff), oldest first; refused credentials fail it.
        // Batches whose partition has moved meanwhile go to the new leader instead.
        this.#handOverMoved();
        const waiting = [...this.#retries, ...this.#queue];
        this.#retries = [];
        this.#queue = [];
        const settle = isRetriable(e) ? o.onRetriable : o.onFailed;
        for (const b of waiting) settle(b, e as Error);
        return;
      }
      if (this.#inFlight >= o.maxInFlight) return;
      const batches = this.#take();
      if (batches.length === 0) return;
      this.#inFlight++;
      o.onProgress?.();
      const body = encodeProduceRequest({ acks: o.acks, timeoutMs: o.requestTimeoutMs, topic: o.topic, batches });
      conn.request(PRODUCE, body, { expectResponse: o.acks !== 0, timeoutMs: o.requestTimeoutMs + 5000 }).then(
        (r) => this.#onResponse(batches, r),
        (e) => {
          for (const b of batches) o.onRetriable(b, e as Error);
        },
      ).finally(() => {
        this.#inFlight--;
        o.onProgress?.();
        this.pump();
      });
    }
  }

  #onResponse(batches: PartitionBatch[], r: Reader | null): void {
    if (!r) {
      for (const b of batches) this.options.onAcked(b);
      return;
    }
    const byPartition = new Map(batches.map((b) => [b.partition, b]));
    for (const p of decodeProduceResponse(r)) {
      const b = byPartition.get(p.partition);
      if (!b) continue;
      byPartition.delete(p.partition);
      if (p.error === 0 || p.error === DUPLICATE_SEQUENCE) this.options.onAcked(b);
      else {
        const e = protocolError(p.error, `Produce to ${p.topic}/${p.partition}`);
        if (e.retriable) this.options.onRetriable(b, e);
        else this.options.onFailed(b, e);
      }
    }
    for (const b of byPartition.values()) {
      this.options.onFailed(b, new Error(`No response for partition ${b.partition}`));
    }
  }
}
