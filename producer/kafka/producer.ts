/**
 * A lean Kafka producer for one topic, on Deno's own TCP sockets: Metadata v5,
 * InitProducerId v1, DescribeConfigs v1 and Produce v7 requests with v2
 * record batches. It exists for throughput (kafkajs spends most of its time
 * encoding); its guarantees, modelled on the Java client:
 *
 * - keyed records go to the Java client's murmur2 partition;
 * - idempotent mode (acks=all): per-partition sequence numbers, at most 5
 *   requests in flight per connection, and failed requests re-sent with the
 *   same bytes, so a retry never writes a record twice or out of order;
 * - partitions are independent: a partition without a leader backs off and
 *   retries on its own while the others keep flowing;
 * - retriable errors (connection loss, leader changes, timeouts) are retried
 *   with exponential backoff until the delivery timeout (default 120 s);
 *   leadership and connection errors refresh the metadata at once, and a
 *   batch waiting for a partition whose leader moved is sent right away;
 * - batches stay below the topic's `max.message.bytes`: a record above it is
 *   refused alone (MESSAGE_TOO_LARGE), and a batch the broker still finds too
 *   large is split in halves and retried;
 * - a send reports exactly how many records were acknowledged, how many
 *   failed definitively and how many of those were refused as too large.
 *
 * This module wires the parts: the cluster requests (`cluster.ts`), the
 * partition cache (`metadata.ts`), the sequencer, the retry policy and one
 * `BrokerSender` per leader.
 */
import { type KafkaSecurity, type Logger, retry } from "@iot/shared";
import type { BatchRecord, PartitionBatch } from "./batch.ts";
import { BrokerSender } from "./broker_sender.ts";
import { ClusterClient } from "./cluster.ts";
import { Connection } from "./connection.ts";
import { isRetriable, isTooLarge, KafkaConnectionError, KafkaProtocolError } from "./errors.ts";
import { PartitionCache } from "./metadata.ts";
import { partitionForKey } from "./partitioner.ts";
import {
  BATCH_OVERHEAD,
  type BatchCompression,
  headersSize,
  RecordBatchBuilder,
  type RecordHeader,
  recordSize,
  valueLength,
} from "./protocol/record_batch.ts";
import { decideRetry, DEFAULT_DELIVERY_TIMEOUT_MS } from "./retry_policy.ts";
import { Sequencer } from "./sequencer.ts";

/** Options of `NativeProducer.connect`. */
export interface NativeProducerOptions {
  brokers: string[];
  clientId: string;
  topic: string;
  /** -1 (all), 1 or 0. */
  acks: -1 | 0 | 1;
  idempotent: boolean;
  compression: BatchCompression;
  /** Retries of a batch before it fails definitively (default: no count; the delivery timeout bounds them). */
  retries?: number;
  /** Time from a send to the definitive outcome of its batches, ms (default 120 000, like `delivery.timeout.ms`). */
  deliveryTimeoutMs?: number;
  /** Largest record batch, bytes (default: the topic's `max.message.bytes`, read at connect). */
  maxMessageBytes?: number;
  /** Broker-side ack timeout; the client waits this plus 5 s for a response. */
  requestTimeoutMs?: number;
  /** Produce requests in flight per connection (at most 5 when idempotent). */
  maxInFlight?: number;
  /** Deadline of a TCP connect (and TLS handshake), ms. */
  connectTimeoutMs?: number;
  /** TLS and SASL of every broker connection (absent: plain TCP, no authentication). */
  security?: KafkaSecurity;
  logger: Logger;
}

/** The record to send. */
export interface NativeMessage {
  /** A string is routed by murmur2 (cached per key), bytes too; null goes to `partition` or round robin. */
  key: string | Uint8Array | null;
  value: string | Uint8Array | null;
  /** Record headers, in order. */
  headers?: Readonly<Record<string, string | Uint8Array>>;
  /** The partition, whatever the key (default: the key's). */
  partition?: number;
}

/** What became of a send. */
export interface SendOutcome {
  acked: number;
  /** Records not acknowledged (refused ones included). */
  failed: number;
  /** Of `failed`: records refused for their size (present when > 0). */
  refused?: number;
  /** The first definitive error, when `failed` > 0. */
  error?: Error;
}

/** Kafka's default `message.max.bytes`, used when the topic's limit cannot be read. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Record headers as bytes, in order. */
function encodeHeaders(headers: Readonly<Record<string, string | Uint8Array>>): RecordHeader[] {
  return Object.entries(headers).map(([k, v]) => [encoder.encode(k), typeof v === "string" ? encoder.encode(v) : v]);
}

/** Backoff of the start-up requests (a broker still loading, a leader being elected): 100 ms doubling to 1 s. */
const STARTUP_BACKOFF = { initialMs: 100, maxMs: 1000 } as const;

/** A single-topic Kafka producer; see the module comment. */
export class NativeProducer {
  readonly #o: Required<Omit<NativeProducerOptions, "retries" | "maxMessageBytes" | "security">> & {
    retries?: number;
    security?: KafkaSecurity;
  };
  readonly #cluster: ClusterClient;
  readonly #cache: PartitionCache;
  readonly #sequencer: Sequencer;
  readonly #senders = new Map<number, BrokerSender>();
  readonly #closing = new AbortController();
  /** Batches waiting out a backoff, with the function that ends the wait early. */
  readonly #waiting = new Map<PartitionBatch, () => void>();
  /** Per partition: unsettled batches that failed at least once. */
  readonly #retrying = new Map<number, number>();
  #maxMessageBytes: number;
  #refreshing: Promise<number[]> | undefined;
  #batchOrder = 0;
  #pumpScheduled = false;
  /** Next partition of a record without key or partition. */
  #roundRobin = 0;

  private constructor(options: NativeProducerOptions) {
    this.#o = {
      requestTimeoutMs: 30_000,
      maxInFlight: 5,
      connectTimeoutMs: 3000,
      deliveryTimeoutMs: DEFAULT_DELIVERY_TIMEOUT_MS,
      ...options,
    };
    if (this.#o.idempotent && this.#o.acks !== -1) throw new RangeError("An idempotent producer needs acks=all");
    if (this.#o.idempotent) this.#o.maxInFlight = Math.min(5, this.#o.maxInFlight);
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#cluster = new ClusterClient(this.#o);
    this.#cache = new PartitionCache(this.#o.topic);
    this.#sequencer = new Sequencer(this.#o.idempotent);
  }

  /** Connects, loads the topic's metadata and size limit and, when idempotent, obtains a producer id. */
  static async connect(options: NativeProducerOptions): Promise<NativeProducer> {
    const p = new NativeProducer(options);
    await p.#startupRequest("Metadata", () => p.#refreshMetadata().then(() => {}));
    if (options.maxMessageBytes === undefined) {
      try {
        p.#maxMessageBytes = await p.#cluster.maxMessageBytes(options.topic);
      } catch (e) {
        options.logger.warn("Cannot read the topic's max.message.bytes; assuming Kafka's default", {
          topic: options.topic,
          max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
          error: (e as Error).message,
        });
      }
    }
    if (p.#o.idempotent) await p.#startupRequest("InitProducerId", () => p.#initProducerId());
    return p;
  }

  /** Runs `fn` again after retriable errors (a broker still loading, a leader being elected). */
  #startupRequest(what: string, fn: () => Promise<void>): Promise<void> {
    return retry(fn, {
      ...STARTUP_BACKOFF,
      maxAttempts: Math.max(this.#o.retries ?? 0, 10) + 1,
      isRetriable,
      onRetry: ({ attempt, error }) =>
        this.#o.logger.debug(`${what} failed; retrying`, { attempt, error: (error as Error).message }),
    });
  }

  /** Number of partitions of the topic. */
  get partitions(): number {
    return this.#cache.partitions;
  }

  /** The largest record batch sent, bytes (the topic's `max.message.bytes` unless overridden). */
  get maxMessageBytes(): number {
    return this.#maxMessageBytes;
  }

  /** The partition of a key. */
  partitionOf(key: string): number {
    return this.#cache.route(key).partition;
  }

  /** Whether a partition has batches being retried (no leader, a broker down): its sends are stalled. */
  isRetrying(partition: number): boolean {
    return (this.#retrying.get(partition) ?? 0) > 0;
  }

  /** Re-reads the metadata (once for concurrent callers); sends batches waiting for a partition whose leader moved. */
  #refreshMetadata(): Promise<number[]> {
    this.#refreshing ??= (async () => {
      try {
        const changed = this.#cache.update(await this.#cluster.metadata(this.#o.topic));
        this.#sequencer.ensurePartitions(this.#cache.partitions);
        return changed;
      } finally {
        this.#refreshing = undefined;
      }
    })().then((changed) => {
      if (changed.length === 0) return changed;
      const moved = new Set(changed);
      for (const [batch, wake] of [...this.#waiting]) if (moved.has(batch.partition)) wake();
      // Batches queued at the old leaders' senders go to the new leaders.
      for (const s of [...this.#senders.values()]) s.pump();
      return changed;
    });
    return this.#refreshing;
  }

  async #initProducerId(): Promise<void> {
    this.#sequencer.setIdentity(await this.#cluster.initProducerId());
  }

  #sender(partition: number): BrokerSender {
    const node = this.#cache.leader(partition);
    let s = this.#senders.get(node);
    if (!s) {
      s = new BrokerSender({
        node,
        topic: this.#o.topic,
        acks: this.#o.acks,
        requestTimeoutMs: this.#o.requestTimeoutMs,
        maxInFlight: this.#o.maxInFlight,
        connect: () => {
          const addr = this.#cache.address(node);
          if (!addr) return Promise.reject(new KafkaConnectionError(`Unknown broker node ${node}`));
          return Connection.open({
            ...addr,
            clientId: this.#o.clientId,
            timeoutMs: this.#o.connectTimeoutMs,
            ...this.#o.security,
          });
        },
        leads: (partition) => this.#cache.leader(partition) === node,
        handOver: (batch, retry) => this.#sender(batch.partition).enqueue(batch, retry),
        onProgress: () => this.#pumpAll(),
        sequencer: this.#sequencer,
        onAcked: (batch) => {
          this.#sequencer.acked(batch);
          this.#settle(batch, true);
        },
        onRetriable: (batch, error) => this.#retry(batch, error),
        onFailed: (batch, error) => this.#fail(batch, error),
      });
      this.#senders.set(node, s);
    }
    return s;
  }

  /**
   * With more than one sender, pumps them all (calls made together are
   * coalesced into one microtask): a batch just given its sequence may let
   * newer batches of its partition waiting at another sender (the leader
   * moved) go, and batches stranded at a broker that no longer leads their
   * partition are handed over.
   */
  #pumpAll(): void {
    if (this.#senders.size < 2 || this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      for (const s of [...this.#senders.values()]) s.pump();
    });
  }

  /**
   * Sends records stamped with `timestamp`: per partition, batches below the
   * size limit; a record too large for any batch is refused alone. Resolves
   * once every record is acknowledged or has failed definitively.
   */
  send(messages: readonly NativeMessage[], timestamp: number): Promise<SendOutcome> {
    if (this.#closing.signal.aborted) {
      return Promise.resolve({ acked: 0, failed: messages.length, error: new Error("Producer is closed") });
    }
    const outcome: SendOutcome = { acked: 0, failed: 0 };
    let pending = messages.length;
    let finish!: (o: SendOutcome) => void;
    const done = new Promise<SendOutcome>((r) => finish = r);
    const settle = (count: number, ok: boolean, error?: Error) => {
      if (ok) outcome.acked += count;
      else {
        outcome.failed += count;
        outcome.error ??= error;
        if (isTooLarge(error)) outcome.refused = (outcome.refused ?? 0) + count;
      }
      pending -= count;
      if (pending === 0) finish(outcome);
    };
    const limit = this.#maxMessageBytes;
    const open: ({ builder: RecordBatchBuilder; records: BatchRecord[] } | undefined)[] = new Array(this.partitions);
    const batches: PartitionBatch[] = [];
    const close = (p: number) => {
      const b = open[p]!;
      open[p] = undefined;
      batches.push(this.#batch(p, b.builder, b.records, timestamp, this.#batchOrder++, 0, settle));
    };
    for (const m of messages) {
      const k = this.#route(m);
      if (!k) {
        settle(1, false, new RangeError(`Partition ${m.partition} does not exist in topic ${this.#o.topic}`));
        continue;
      }
      const headers = m.headers ? encodeHeaders(m.headers) : undefined;
      const headerBytes = headersSize(headers);
      const keyLength = k.bytes?.length ?? -1;
      // Cheap upper bound first (UTF-8 takes at most 3 bytes per UTF-16 unit); exact only near the limit.
      const bound = m.value === null ? -1 : typeof m.value === "string" ? m.value.length * 3 : m.value.length;
      let size = recordSize(keyLength, bound, headerBytes);
      const current = open[k.partition];
      if ((current?.builder.sizeInBytes ?? BATCH_OVERHEAD) + size > limit) {
        size = recordSize(keyLength, valueLength(m.value), headerBytes);
        if (BATCH_OVERHEAD + size > limit) {
          settle(1, false, this.#refusal(size, k.bytes ? decoder.decode(k.bytes) : "null"));
          continue;
        }
        if (current && current.builder.sizeInBytes + size > limit) close(k.partition);
      }
      const b = open[k.partition] ??= { builder: new RecordBatchBuilder(), records: [] };
      b.builder.add(k.bytes, m.value, headers);
      b.records.push({ key: k.bytes, value: m.value, headers });
    }
    for (let p = 0; p < open.length; p++) if (open[p]) close(p);
    for (const b of batches) this.#sender(b.partition).enqueue(b);
    if (pending === 0) finish(outcome);
    return done;
  }

  /** A message's key bytes and partition; undefined when its explicit partition does not exist. */
  #route(m: NativeMessage): { bytes: Uint8Array | null; partition: number } | undefined {
    const n = this.partitions;
    if (m.partition !== undefined && !(Number.isInteger(m.partition) && m.partition >= 0 && m.partition < n)) {
      return undefined;
    }
    if (typeof m.key === "string") {
      const k = this.#cache.route(m.key);
      return m.partition === undefined ? k : { bytes: k.bytes, partition: m.partition };
    }
    const partition = m.partition ?? (m.key ? partitionForKey(m.key, n) : this.#roundRobin++ % n);
    return { bytes: m.key, partition };
  }

  #batch(
    partition: number,
    builder: RecordBatchBuilder,
    records: BatchRecord[],
    timestamp: number,
    order: number,
    splits: number,
    settle: PartitionBatch["settle"],
  ): PartitionBatch {
    const batch: PartitionBatch = {
      partition,
      // Idempotent batches get their producer id and sequence when first sent (`Sequencer.assign`).
      bytes: builder.build(timestamp, this.#sequencer.identity, -1, this.#o.compression),
      count: builder.count,
      baseSequence: -1,
      generation: -1,
      order,
      splits,
      records,
      timestamp,
      createdAt: performance.now(),
      attempts: 0,
      settle,
    };
    // From now on, no newer batch of the partition gets a sequence before this one.
    this.#sequencer.register(batch);
    return batch;
  }

  #refusal(size: number, key: string): KafkaProtocolError {
    return new KafkaProtocolError(
      10,
      `Record of ${size} bytes (key ${key}) refused before sending: MESSAGE_TOO_LARGE, topic ${this.#o.topic} ` +
        `accepts batches of at most ${this.#maxMessageBytes} bytes (max.message.bytes)`,
      false,
    );
  }

  #settle(batch: PartitionBatch, ok: boolean, error?: Error): void {
    this.#sequencer.settled(batch);
    this.#untrack(batch);
    batch.settle(batch.count, ok, error);
  }

  /** A batch that failed before leaves the partition's retry count. */
  #untrack(batch: PartitionBatch): void {
    if (batch.attempts === 0) return;
    const n = (this.#retrying.get(batch.partition) ?? 1) - 1;
    if (n > 0) this.#retrying.set(batch.partition, n);
    else {
      this.#retrying.delete(batch.partition);
      this.#o.logger.info("A partition that was retrying has no batch waiting any more", {
        partition: batch.partition,
      });
    }
  }

  /**
   * Sends a batch again after a retriable error, after a backoff. Leadership
   * and connection errors refresh the metadata at once; a refresh that shows
   * the partition's new leader ends the backoff early.
   */
  #retry(batch: PartitionBatch, error: Error): void {
    if (batch.attempts++ === 0) {
      const before = this.#retrying.get(batch.partition) ?? 0;
      this.#retrying.set(batch.partition, before + 1);
      // Once per outage of a partition, not per batch: the first batch that starts retrying says so.
      if (before === 0) {
        this.#o.logger.warn("Sending to a partition failed; retrying until the delivery timeout", {
          partition: batch.partition,
          delivery_timeout_ms: this.#o.deliveryTimeoutMs,
          error: error.message,
        });
      }
    }
    const decision = decideRetry(error, {
      attempts: batch.attempts,
      elapsedMs: performance.now() - batch.createdAt,
      deliveryTimeoutMs: this.#o.deliveryTimeoutMs,
      retries: this.#o.retries,
      closing: this.#closing.signal.aborted,
    });
    if (!decision.retry) {
      this.#fail(batch, error);
      return;
    }
    this.#o.logger.debug("Retrying a batch", {
      partition: batch.partition,
      attempt: batch.attempts,
      delay_ms: decision.delayMs,
      error: error.message,
    });
    this.#sequencer.backingOff(batch);
    if (decision.refreshMetadata) this.#refreshMetadata().catch(() => {});
    let woken = false;
    const wake = () => {
      if (woken) return;
      woken = true;
      clearTimeout(timer);
      this.#waiting.delete(batch);
      this.#sequencer.resumed(batch);
      if (this.#closing.signal.aborted) this.#fail(batch, error);
      else this.#sender(batch.partition).enqueue(batch, true);
    };
    const timer = setTimeout(async () => {
      // The leader may still be unknown: look again before the next attempt.
      if (decision.refreshMetadata) await this.#refreshMetadata().catch(() => {});
      wake();
    }, decision.delayMs);
    this.#waiting.set(batch, wake);
  }

  /**
   * Fails a batch definitively, or splits it when the broker found it too
   * large. An idempotent producer then takes a new producer id: the broker
   * would refuse every later batch of the partition for the gap in sequence
   * numbers otherwise.
   */
  #fail(batch: PartitionBatch, error: Error): void {
    if (isTooLarge(error) && batch.count > 1 && !this.#closing.signal.aborted) this.#split(batch, error);
    else this.#settle(batch, false, error);
    if (this.#closing.signal.aborted || !this.#sequencer.failed(batch)) return;
    this.#o.logger.warn("A batch failed definitively; taking a new producer id", {
      generation: this.#sequencer.generation,
    });
    retry(() => this.#initProducerId(), {
      ...STARTUP_BACKOFF,
      deadlineMs: Number.POSITIVE_INFINITY,
      signal: this.#closing.signal,
      onRetry: ({ error }) =>
        this.#o.logger.debug("InitProducerId failed; retrying", { error: (error as Error).message }),
    }).then(
      () => {
        for (const s of this.#senders.values()) s.pump();
      },
      () => {/* closed */},
    );
  }

  /** Splits a batch the broker refused as too large into two halves, sent in its place (as the Java client does). */
  #split(batch: PartitionBatch, error: Error): void {
    const half = Math.ceil(batch.records.length / 2);
    const step = 0.5 ** (batch.splits + 1);
    this.#o.logger.warn("The broker refused a batch as too large; splitting it", {
      partition: batch.partition,
      records: batch.count,
      bytes: batch.bytes.length,
      error: error.message,
    });
    this.#sequencer.settled(batch);
    this.#untrack(batch);
    [batch.records.slice(0, half), batch.records.slice(half)].forEach((records, i) => {
      const builder = new RecordBatchBuilder();
      for (const r of records) builder.add(r.key, r.value, r.headers);
      const b = this.#batch(
        batch.partition,
        builder,
        records,
        batch.timestamp,
        batch.order + i * step,
        batch.splits + 1,
        batch.settle,
      );
      b.createdAt = batch.createdAt;
      this.#sender(b.partition).enqueue(b, true);
    });
  }

  /** Closes every connection (call after every send has settled); batches still waiting fail. */
  close(): void {
    this.#closing.abort();
    for (const wake of [...this.#waiting.values()]) wake();
    for (const s of this.#senders.values()) s.close();
    this.#cluster.close();
  }
}
