/**
 * A lean Kafka producer for one topic, on Deno's own TCP sockets: Metadata v5,
 * InitProducerId v1 and Produce v7 requests with v2 record batches. It exists
 * for throughput (kafkajs spends most of its time encoding); its guarantees:
 *
 * - keyed records go to the Java client's murmur2 partition;
 * - idempotent mode (acks=all): per-partition sequence numbers, at most 5
 *   requests in flight per connection, and failed requests re-sent with the
 *   same bytes, so a retry never writes a record twice or out of order;
 * - retriable errors (connection loss, leader changes, timeouts) are retried
 *   with exponential backoff; a send reports exactly how many records were
 *   acknowledged and how many failed definitively.
 */
import type { Logger } from "@iot/shared";
import {
  type BatchCompression,
  partitionForKey,
  patchIdentity,
  type ProducerIdentity,
  Reader,
  RecordBatchBuilder,
  Writer,
} from "./wire.ts";

/** Options of `NativeProducer.connect`. */
export interface NativeProducerOptions {
  brokers: string[];
  clientId: string;
  topic: string;
  /** -1 (all), 1 or 0. */
  acks: -1 | 0 | 1;
  idempotent: boolean;
  compression: BatchCompression;
  /** Retries of a batch before it fails definitively. */
  retries: number;
  /** Broker-side ack timeout; the client waits this plus 5 s for a response. */
  requestTimeoutMs?: number;
  /** Produce requests in flight per connection (at most 5 when idempotent). */
  maxInFlight?: number;
  /** Deadline of a TCP connect, ms. */
  connectTimeoutMs?: number;
  logger: Logger;
}

/** The record to send. */
export interface NativeMessage {
  key: string;
  value: string | Uint8Array;
}

/** What became of a send. */
export interface SendOutcome {
  acked: number;
  failed: number;
  /** The first definitive error, when `failed` > 0. */
  error?: Error;
}

/** A Kafka error code in a response. */
export class KafkaProtocolError extends Error {
  override name = "KafkaProtocolError";
  constructor(readonly code: number, message: string, readonly retriable: boolean) {
    super(message);
  }
}

/** The connection to a broker failed or timed out. */
export class KafkaConnectionError extends Error {
  override name = "KafkaConnectionError";
}

const API = { produce: 0, metadata: 3, initProducerId: 22 } as const;

// Error codes: name and whether a retry may succeed.
const ERRORS: Record<number, [string, boolean]> = {
  1: ["OFFSET_OUT_OF_RANGE", false],
  2: ["CORRUPT_MESSAGE", true],
  3: ["UNKNOWN_TOPIC_OR_PARTITION", true],
  5: ["LEADER_NOT_AVAILABLE", true],
  6: ["NOT_LEADER_OR_FOLLOWER", true],
  7: ["REQUEST_TIMED_OUT", true],
  10: ["MESSAGE_TOO_LARGE", false],
  13: ["NETWORK_EXCEPTION", true],
  14: ["COORDINATOR_LOAD_IN_PROGRESS", true],
  15: ["COORDINATOR_NOT_AVAILABLE", true],
  19: ["NOT_ENOUGH_REPLICAS", true],
  20: ["NOT_ENOUGH_REPLICAS_AFTER_APPEND", true],
  29: ["TOPIC_AUTHORIZATION_FAILED", false],
  45: ["OUT_OF_ORDER_SEQUENCE_NUMBER", true],
  47: ["INVALID_PRODUCER_EPOCH", false],
  56: ["KAFKA_STORAGE_ERROR", true],
  59: ["UNKNOWN_PRODUCER_ID", false],
  74: ["FENCED_LEADER_EPOCH", true],
  75: ["UNKNOWN_LEADER_EPOCH", true],
  87: ["INVALID_RECORD", false],
};
const DUPLICATE_SEQUENCE = 46;
const LEADERSHIP_ERRORS = new Set([3, 5, 6, 74, 75]);

function protocolError(code: number, what: string): KafkaProtocolError {
  const [name, retriable] = ERRORS[code] ?? [`error ${code}`, false];
  return new KafkaProtocolError(code, `${what} failed with ${name} (code ${code})`, retriable);
}

/** One request/response connection to a broker. */
class Connection {
  #conn: Deno.TcpConn;
  #pending = new Map<
    number,
    { resolve: (r: Reader) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }
  >();
  #correlation = 0;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  readonly closedWith: Promise<Error>;
  #onClose!: (e: Error) => void;

  private constructor(conn: Deno.TcpConn, readonly address: string, readonly clientId: string) {
    this.#conn = conn;
    this.closedWith = new Promise((r) => this.#onClose = r);
    this.#readLoop();
  }

  static async open(host: string, port: number, clientId: string, timeoutMs: number): Promise<Connection> {
    const address = `${host}:${port}`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const conn = await Promise.race([
      Deno.connect({ hostname: host, port }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new KafkaConnectionError(`Connect to ${address} timed out`)), timeoutMs);
      }),
    ]).catch((e) => {
      throw e instanceof KafkaConnectionError
        ? e
        : new KafkaConnectionError(`Cannot connect to ${address}: ${e.message}`);
    }).finally(() => clearTimeout(timer));
    conn.setNoDelay(true);
    return new Connection(conn, address, clientId);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a request; resolves with a reader positioned after the response header (or null without response). */
  request(
    apiKey: number,
    version: number,
    body: Uint8Array,
    expectResponse: boolean,
    timeoutMs: number,
  ): Promise<Reader | null> {
    if (this.#closed) return Promise.reject(new KafkaConnectionError(`Connection to ${this.address} is closed`));
    const correlation = this.#correlation = (this.#correlation + 1) & 0x7fffffff;
    const header = new Writer(64);
    header.int32(0).int16(apiKey).int16(version).int32(correlation).string(this.clientId);
    const frame = new Uint8Array(header.pos + body.length);
    frame.set(header.result());
    frame.set(body, header.pos);
    new DataView(frame.buffer).setInt32(0, frame.length - 4);
    const response = expectResponse
      ? new Promise<Reader>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.close(new KafkaConnectionError(`Request to ${this.address} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        this.#pending.set(correlation, { resolve, reject, timer });
      })
      : null;
    const written = this.#writing.then(() => this.#writeAll(frame));
    this.#writing = written.catch(() => {});
    if (!response) return written.then(() => null);
    written.catch((e) => this.close(e));
    return response;
  }

  async #writeAll(data: Uint8Array): Promise<void> {
    let off = 0;
    try {
      while (off < data.length) off += await this.#conn.write(data.subarray(off));
    } catch (e) {
      throw new KafkaConnectionError(`Write to ${this.address} failed: ${(e as Error).message}`);
    }
  }

  async #readLoop(): Promise<void> {
    let buf = new Uint8Array(1 << 16);
    let start = 0;
    let end = 0;
    const chunk = new Uint8Array(1 << 16);
    try {
      while (true) {
        const n = await this.#conn.read(chunk);
        if (n === null) throw new KafkaConnectionError(`Connection to ${this.address} closed by the broker`);
        if (end + n > buf.length) {
          const live = end - start;
          const next = live + n > buf.length ? new Uint8Array(Math.max(buf.length * 2, live + n)) : buf;
          next.set(buf.subarray(start, end), 0);
          buf = next;
          start = 0;
          end = live;
        }
        buf.set(chunk.subarray(0, n), end);
        end += n;
        while (end - start >= 4) {
          const size = new DataView(buf.buffer, start, 4).getInt32(0);
          if (end - start < 4 + size) break;
          const frame = buf.slice(start + 4, start + 4 + size);
          start += 4 + size;
          const reader = new Reader(frame);
          const correlation = reader.int32();
          const p = this.#pending.get(correlation);
          if (p) {
            this.#pending.delete(correlation);
            clearTimeout(p.timer);
            p.resolve(reader);
          }
        }
        if (start === end) start = end = 0;
      }
    } catch (e) {
      this.close(
        e instanceof KafkaConnectionError
          ? e
          : new KafkaConnectionError(`Read from ${this.address} failed: ${(e as Error).message}`),
      );
    }
  }

  /** Closes the socket and fails every pending request with `reason`. */
  close(reason: Error = new KafkaConnectionError(`Connection to ${this.address} closed`)): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(reason);
    }
    this.#pending.clear();
    this.#onClose(reason);
  }
}

/** One partition's batch of one send. */
interface PartitionBatch {
  partition: number;
  bytes: Uint8Array;
  count: number;
  /** First sequence number (-1 until assigned, and when not idempotent). */
  baseSequence: number;
  /** Producer id generation the sequence belongs to (-1: unassigned). */
  generation: number;
  /** Creation order (all partitions): within a partition, batches reach the broker in this order. */
  order: number;
  attempts: number;
  settle: (ok: boolean, error?: Error) => void;
}

interface Metadata {
  brokers: Map<number, { host: string; port: number }>;
  leaders: number[];
}

/** A single-topic Kafka producer; see the module comment. */
export class NativeProducer {
  readonly o: Required<NativeProducerOptions>;
  #meta!: Metadata;
  #identity: ProducerIdentity = { producerId: -1n, producerEpoch: -1 };
  #sequences: number[] = [];
  #keys = new Map<string, { bytes: Uint8Array; partition: number }>();
  #senders = new Map<number, BrokerSender>();
  #metaConn: Connection | undefined;
  #refreshing: Promise<void> | undefined;
  #closed = false;
  #generation = 0;
  #batchOrder = 0;
  #resetting = false;
  /** Batches waiting out a retry backoff, per partition. */
  #backingOff = new Map<number, Set<PartitionBatch>>();

  private constructor(options: NativeProducerOptions) {
    this.o = {
      requestTimeoutMs: 30_000,
      maxInFlight: 5,
      connectTimeoutMs: 3000,
      ...options,
    };
    if (this.o.idempotent && this.o.acks !== -1) throw new RangeError("An idempotent producer needs acks=all");
    if (this.o.idempotent) this.o.maxInFlight = Math.min(5, this.o.maxInFlight);
  }

  /** Connects, loads the topic's metadata and, when idempotent, obtains a producer id. */
  static async connect(options: NativeProducerOptions): Promise<NativeProducer> {
    const p = new NativeProducer(options);
    await p.#withRetries("Metadata", () => p.#refreshMetadata());
    if (p.o.idempotent) await p.#withRetries("InitProducerId", () => p.#initProducerId());
    return p;
  }

  /** Runs `fn` again after retriable errors (a broker still loading, a leader being elected). */
  async #withRetries(what: string, fn: () => Promise<void>): Promise<void> {
    for (let attempt = 1;; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const retriable = e instanceof KafkaConnectionError || (e instanceof KafkaProtocolError && e.retriable);
        if (!retriable || attempt > Math.max(this.o.retries, 10)) throw e;
        this.o.logger.debug(`${what} failed; retrying`, { attempt, error: (e as Error).message });
        await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
      }
    }
  }

  /** Number of partitions of the topic. */
  get partitions(): number {
    return this.#meta.leaders.length;
  }

  async #bootstrap(): Promise<Connection> {
    if (this.#metaConn && !this.#metaConn.closed) return this.#metaConn;
    let last: Error | undefined;
    for (const b of this.o.brokers) {
      const i = b.lastIndexOf(":");
      try {
        const host = b.slice(0, i).replace(/^\[|\]$/g, "");
        this.#metaConn = await Connection.open(host, Number(b.slice(i + 1)), this.o.clientId, this.o.connectTimeoutMs);
        return this.#metaConn;
      } catch (e) {
        last = e as Error;
      }
    }
    throw last ?? new KafkaConnectionError("No bootstrap broker");
  }

  #refreshMetadata(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        const conn = await this.#bootstrap();
        const body = new Writer(64).int32(1).string(this.o.topic).int8(0).result();
        const r = (await conn.request(API.metadata, 5, body, true, this.o.requestTimeoutMs))!;
        r.int32(); // throttle
        const brokers = new Map<number, { host: string; port: number }>();
        for (const b of r.array((r) => ({ id: r.int32(), host: r.string()!, port: r.int32(), rack: r.string() }))) {
          brokers.set(b.id, { host: b.host, port: b.port });
        }
        r.string(); // cluster id
        r.int32(); // controller
        const topics = r.array((r) => ({
          error: r.int16(),
          name: r.string(),
          internal: r.bool(),
          partitions: r.array((r) => {
            const p = { error: r.int16(), index: r.int32(), leader: r.int32() };
            r.array((r) => r.int32());
            r.array((r) => r.int32());
            r.array((r) => r.int32());
            return p;
          }),
        }));
        const t = topics.find((t) => t.name === this.o.topic);
        if (!t || t.error !== 0) throw protocolError(t?.error ?? 3, `Metadata of topic ${this.o.topic}`);
        const leaders: number[] = new Array(t.partitions.length).fill(-1);
        for (const p of t.partitions) leaders[p.index] = p.leader;
        if (this.#meta && this.#meta.leaders.length !== leaders.length) this.#keys.clear();
        this.#meta = { brokers, leaders };
        while (this.#sequences.length < leaders.length) this.#sequences.push(0);
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  async #initProducerId(): Promise<void> {
    const conn = await this.#bootstrap();
    const body = new Writer(16).string(null).int32(60_000).result();
    const r = (await conn.request(API.initProducerId, 1, body, true, this.o.requestTimeoutMs))!;
    r.int32(); // throttle
    const error = r.int16();
    if (error !== 0) throw protocolError(error, "InitProducerId");
    this.#identity = { producerId: r.int64(), producerEpoch: r.int16() };
    this.#sequences.fill(0);
  }

  #sender(partition: number): BrokerSender {
    const node = this.#meta.leaders[partition];
    let s = this.#senders.get(node);
    if (!s) {
      s = new BrokerSender(this, node);
      this.#senders.set(node, s);
    }
    return s;
  }

  /** The broker address of a node. */
  address(node: number): { host: string; port: number } | undefined {
    return this.#meta.brokers.get(node);
  }

  /**
   * Sends records (one batch per partition) stamped with `timestamp`; resolves
   * once every batch is acknowledged or has failed definitively.
   */
  send(messages: readonly NativeMessage[], timestamp: number): Promise<SendOutcome> {
    if (this.#closed) {
      return Promise.resolve({ acked: 0, failed: messages.length, error: new Error("Producer is closed") });
    }
    const builders: (RecordBatchBuilder | undefined)[] = new Array(this.partitions);
    for (const m of messages) {
      let k = this.#keys.get(m.key);
      if (!k) {
        const bytes = new TextEncoder().encode(m.key);
        k = { bytes, partition: partitionForKey(bytes, this.partitions) };
        this.#keys.set(m.key, k);
      }
      (builders[k.partition] ??= new RecordBatchBuilder()).add(k.bytes, m.value);
    }
    const outcome: SendOutcome = { acked: 0, failed: 0 };
    let open = 0;
    let finish!: (o: SendOutcome) => void;
    const done = new Promise<SendOutcome>((r) => finish = r);
    for (let p = 0; p < builders.length; p++) {
      const b = builders[p];
      if (!b) continue;
      open++;
      const batch: PartitionBatch = {
        partition: p,
        // Idempotent batches get their producer id and sequence when first sent (`assign`).
        bytes: b.build(timestamp, this.#identity, -1, this.o.compression),
        count: b.count,
        baseSequence: -1,
        generation: -1,
        order: this.#batchOrder++,
        attempts: 0,
        settle: (ok, error) => {
          if (ok) outcome.acked += batch.count;
          else {
            outcome.failed += batch.count;
            outcome.error ??= error;
          }
          if (--open === 0) finish(outcome);
        },
      };
      this.#sender(p).enqueue(batch);
    }
    if (open === 0) finish(outcome);
    return done;
  }

  /** Re-routes a batch after a retriable error, after a backoff and (for leadership errors) fresh metadata. */
  retry(batch: PartitionBatch, error: Error): void {
    batch.attempts++;
    if (this.#closed || batch.attempts > this.o.retries) {
      this.fail(batch, error);
      return;
    }
    const delay = Math.min(5000, 100 * 2 ** (batch.attempts - 1));
    const leadership = error instanceof KafkaConnectionError ||
      (error instanceof KafkaProtocolError && LEADERSHIP_ERRORS.has(error.code));
    this.o.logger.debug("Retrying a batch", {
      partition: batch.partition,
      attempt: batch.attempts,
      error: error.message,
    });
    let waiting = this.#backingOff.get(batch.partition);
    if (!waiting) this.#backingOff.set(batch.partition, waiting = new Set());
    waiting.add(batch);
    setTimeout(async () => {
      if (leadership) await this.#refreshMetadata().catch(() => {});
      waiting.delete(batch);
      this.#sender(batch.partition).enqueue(batch, true);
    }, delay);
  }

  /**
   * Whether a batch must wait: an older batch of its partition is still
   * waiting out a backoff (idempotent sequences must reach the broker in order).
   */
  mustWait(batch: PartitionBatch): boolean {
    if (!this.o.idempotent) return false;
    if (this.#resetting) return true;
    const waiting = this.#backingOff.get(batch.partition);
    if (!waiting || waiting.size === 0) return false;
    for (const w of waiting) {
      // Batches of an older producer id get new sequences when re-sent: nothing waits for them.
      // Older batches never sent (no sequence yet) do hold newer ones back: during an outage they
      // back off longer (more attempts) and would otherwise be overtaken and written after them.
      if (w.generation !== this.#generation && w.generation !== -1) continue;
      if (w.order < batch.order) return true;
    }
    return false;
  }

  /**
   * Gives an idempotent batch the current producer id and the next sequence
   * numbers of its partition, unless it has them already (a retry keeps its
   * sequence, so the broker can tell it was written before).
   */
  assign(batch: PartitionBatch): void {
    if (!this.o.idempotent || batch.generation === this.#generation) return;
    const p = batch.partition;
    batch.baseSequence = this.#sequences[p];
    batch.generation = this.#generation;
    this.#sequences[p] = (batch.baseSequence + batch.count) % 0x80000000;
    patchIdentity(batch.bytes, this.#identity, batch.baseSequence);
  }

  /**
   * Fails a batch definitively. An idempotent producer then takes a new
   * producer id: the broker would refuse every later batch of the partition
   * for the gap in sequence numbers otherwise.
   */
  fail(batch: PartitionBatch, error: Error): void {
    batch.settle(false, error);
    if (this.o.idempotent && !this.#closed && batch.generation === this.#generation) this.#reset();
  }

  #reset(): void {
    if (this.#resetting) return;
    this.#resetting = true;
    this.#generation++;
    this.o.logger.warn("A batch failed definitively; taking a new producer id", { generation: this.#generation });
    (async () => {
      while (!this.#closed) {
        try {
          await this.#withRetries("InitProducerId", () => this.#initProducerId());
          break;
        } catch (e) {
          this.o.logger.debug("InitProducerId failed; retrying", { error: (e as Error).message });
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      this.#resetting = false;
      for (const s of this.#senders.values()) s.pump();
    })();
  }

  /** Closes every connection (call after every send has settled). */
  close(): void {
    this.#closed = true;
    for (const s of this.#senders.values()) s.close();
    this.#metaConn?.close();
  }

  /** Builds a Produce v7 request body. */
  produceBody(batches: PartitionBatch[]): Uint8Array {
    let size = 64 + this.o.topic.length;
    for (const b of batches) size += 8 + b.bytes.length;
    const w = new Writer(size);
    w.int16(-1); // transactional id: null
    w.int16(this.o.acks);
    w.int32(this.o.requestTimeoutMs);
    w.int32(1);
    w.string(this.o.topic);
    w.int32(batches.length);
    for (const b of batches) {
      w.int32(b.partition);
      w.int32(b.bytes.length);
      w.bytes(b.bytes);
    }
    return w.result();
  }
}

/** The produce pipeline to one broker: a queue, up to `maxInFlight` requests, retries first and in order. */
class BrokerSender {
  #queue: PartitionBatch[] = [];
  #retries: PartitionBatch[] = [];
  #inFlight = 0;
  #conn: Connection | undefined;
  #connecting: Promise<Connection> | undefined;
  #closed = false;

  constructor(readonly producer: NativeProducer, readonly node: number) {}

  enqueue(batch: PartitionBatch, retry = false): void {
    if (retry) {
      this.#retries.push(batch);
      this.#retries.sort((a, b) => a.partition - b.partition || a.order - b.order);
    } else this.#queue.push(batch);
    this.pump();
  }

  close(): void {
    this.#closed = true;
    this.#conn?.close();
  }

  /**
   * Takes the next request's batches: at most one per partition, retries
   * before new batches, and nothing that would overtake an older batch of its
   * partition still waiting to be retried.
   */
  #take(): PartitionBatch[] {
    const out: PartitionBatch[] = [];
    const used = new Set<number>();
    for (const source of [this.#retries, this.#queue]) {
      for (let i = 0; i < source.length;) {
        const b = source[i];
        // A partition with a retry pending sends nothing newer before it.
        if (
          used.has(b.partition) || this.producer.mustWait(b) ||
          (source === this.#queue && this.#retries.some((r) => r.partition === b.partition))
        ) {
          i++;
          continue;
        }
        used.add(b.partition);
        this.producer.assign(b);
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
        const addr = this.producer.address(this.node);
        if (!addr) throw new KafkaConnectionError(`Unknown broker node ${this.node}`);
        const o = this.producer.o;
        this.#conn = await Connection.open(addr.host, addr.port, o.clientId, o.connectTimeoutMs);
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
    const o = this.producer.o;
    while (this.#inFlight < o.maxInFlight && (this.#retries.length || this.#queue.length)) {
      let conn: Connection;
      try {
        conn = await this.#connection();
      } catch (e) {
        // Hand everything waiting to the retry logic (with backoff), oldest first.
        const waiting = [...this.#retries, ...this.#queue];
        this.#retries = [];
        this.#queue = [];
        for (const b of waiting) this.producer.retry(b, e as Error);
        return;
      }
      if (this.#inFlight >= o.maxInFlight) return;
      const batches = this.#take();
      if (batches.length === 0) return;
      this.#inFlight++;
      const body = this.producer.produceBody(batches);
      conn.request(API.produce, 7, body, o.acks !== 0, o.requestTimeoutMs + 5000).then(
        (r) => this.#onResponse(batches, r),
        (e) => {
          for (const b of batches) this.producer.retry(b, e as Error);
        },
      ).finally(() => {
        this.#inFlight--;
        this.pump();
      });
    }
  }

  #onResponse(batches: PartitionBatch[], r: Reader | null): void {
    if (!r) {
      for (const b of batches) b.settle(true);
      return;
    }
    const byPartition = new Map(batches.map((b) => [b.partition, b]));
    const topics = r.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => {
        const p = { index: r.int32(), error: r.int16() };
        r.int64(); // base offset
        r.int64(); // log append time
        r.int64(); // log start offset
        return p;
      }),
    }));
    for (const t of topics) {
      for (const p of t.partitions) {
        const b = byPartition.get(p.index);
        if (!b) continue;
        byPartition.delete(p.index);
        if (p.error === 0 || p.error === DUPLICATE_SEQUENCE) b.settle(true);
        else {
          const e = protocolError(p.error, `Produce to ${t.name}/${p.index}`);
          if (e.retriable) this.producer.retry(b, e);
          else this.producer.fail(b, e);
        }
      }
    }
    for (const b of byPartition.values()) this.producer.fail(b, new Error(`No response for partition ${b.partition}`));
  }
}
