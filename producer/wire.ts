/**
 * Kafka wire format pieces the native producer needs: a byte writer and
 * reader, CRC-32C, the murmur2 partitioner of the Java client, and v2 record
 * batches (magic 2) with optional gzip compression.
 */
import { gzipSync } from "node:zlib";

/** A growable big-endian byte writer. */
export class Writer {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(capacity = 4096) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  int8(v: number): this {
    this.ensure(1);
    this.view.setInt8(this.pos, v);
    this.pos += 1;
    return this;
  }

  int16(v: number): this {
    this.ensure(2);
    this.view.setInt16(this.pos, v);
    this.pos += 2;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
    return this;
  }

  uint32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
    return this;
  }

  int64(v: bigint | number): this {
    this.ensure(8);
    this.view.setBigInt64(this.pos, BigInt(v));
    this.pos += 8;
    return this;
  }

  /** Zig-zag varint (record fields). */
  varint(v: number): this {
    this.ensure(10);
    // Zig-zag in doubles so that 64-bit timestamps deltas work too.
    let z = v >= 0 ? v * 2 : -v * 2 - 1;
    while (z >= 0x80) {
      this.buf[this.pos++] = (z % 0x80) | 0x80;
      z = Math.floor(z / 0x80);
    }
    this.buf[this.pos++] = z;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** A protocol string: int16 length and UTF-8 bytes; null as length -1. */
  string(s: string | null): this {
    if (s === null) return this.int16(-1);
    const b = encoder.encode(s);
    this.int16(b.length);
    return this.bytes(b);
  }

  /** The written bytes (a view, not a copy). */
  result(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

/** A big-endian byte reader over a response. */
export class Reader {
  pos = 0;
  readonly view: DataView;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  int8(): number {
    return this.view.getInt8(this.pos++);
  }

  int16(): number {
    const v = this.view.getInt16(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }

  int64(): bigint {
    const v = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  string(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    const s = decoder.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }

  /** An array of int32 count and items; null counts as empty. */
  array<T>(item: (r: Reader) => T): T[] {
    const n = this.int32();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item(this));
    return out;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const CRC32C_TABLE = (() => {
  const t = new Int32Array(256 * 8);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c;
  }
  // Slicing-by-8 tables.
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++) t[s * 256 + i] = (t[(s - 1) * 256 + i] >>> 8) ^ t[t[(s - 1) * 256 + i] & 0xff];
  }
  return t;
})();

/** CRC-32C (Castagnoli) of `data`, as an unsigned 32-bit number. */
export function crc32c(data: Uint8Array): number {
  const t = CRC32C_TABLE;
  let crc = -1;
  let i = 0;
  const n = data.length;
  for (; i + 8 <= n; i += 8) {
    const a = crc ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    crc = t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^ t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^ t[768 + data[i + 4]] ^ t[512 + data[i + 5]] ^ t[256 + data[i + 6]] ^ t[data[i + 7]];
  }
  for (; i < n; i++) crc = t[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** Kafka's murmur2 hash (as in the Java client's `Utils.murmur2`), a signed 32-bit number. */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  if (rest === 3) h ^= data[tail + 2] << 16;
  if (rest >= 2) h ^= data[tail + 1] << 8;
  if (rest >= 1) {
    h ^= data[tail];
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a keyed record, as the Java client's default partitioner picks it. */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/** Producer identity of an idempotent producer; `producerId` -1 when not idempotent. */
export interface ProducerIdentity {
  producerId: bigint;
  producerEpoch: number;
}

/** Record batch compression. */
export type BatchCompression = "none" | "gzip";

const scratch = { buf: new Uint8Array(64 * 1024) };

/**
 * Accumulates the records of one partition and encodes them as one v2 record
 * batch. Keys are bytes (cached by the caller); values are strings or bytes.
 */
export class RecordBatchBuilder {
  #records = new Writer(64 * 1024);
  count = 0;

  /** Adds a record with timestamp delta 0 (all records of a batch share the batch time). */
  add(key: Uint8Array, value: string | Uint8Array): void {
    let valueBytes: Uint8Array;
    if (typeof value === "string") {
      if (scratch.buf.length < value.length * 3) scratch.buf = new Uint8Array(value.length * 3);
      const { written } = encoder.encodeInto(value, scratch.buf);
      valueBytes = scratch.buf.subarray(0, written);
    } else valueBytes = value;
    const offsetDelta = this.count++;
    const body = 1 + 1 + varintSize(offsetDelta) + varintSize(key.length) + key.length +
      varintSize(valueBytes.length) + valueBytes.length + 1;
    const w = this.#records;
    w.ensure(body + 5);
    w.varint(body);
    w.buf[w.pos++] = 0; // attributes
    w.buf[w.pos++] = 0; // timestamp delta 0
    w.varint(offsetDelta);
    w.varint(key.length);
    w.bytes(key);
    w.varint(valueBytes.length);
    w.bytes(valueBytes);
    w.buf[w.pos++] = 0; // no headers
  }

  /** Encodes the batch. `baseSequence` -1 when not idempotent. */
  build(timestamp: number, id: ProducerIdentity, baseSequence: number, compression: BatchCompression): Uint8Array {
    let records = this.#records.result();
    let attributes = 0;
    if (compression === "gzip") {
      records = new Uint8Array(gzipSync(records));
      attributes = 1;
    }
    const w = new Writer(61 + records.length);
    w.int64(0); // base offset
    w.int32(49 + records.length); // batch length: everything after this field
    w.int32(-1); // partition leader epoch
    w.int8(2); // magic
    const crcAt = w.pos;
    w.uint32(0);
    const crcFrom = w.pos;
    w.int16(attributes);
    w.int32(this.count - 1); // last offset delta
    w.int64(timestamp);
    w.int64(timestamp);
    w.int64(id.producerId);
    w.int16(id.producerEpoch);
    w.int32(baseSequence);
    w.int32(this.count);
    w.bytes(records);
    const out = w.result();
    new DataView(out.buffer, out.byteOffset).setUint32(crcAt, crc32c(out.subarray(crcFrom)));
    return out;
  }
}

/**
 * Rewrites the producer id, epoch and base sequence of an encoded v2 record
 * batch in place, and its CRC.
 */
export function patchIdentity(batch: Uint8Array, id: ProducerIdentity, baseSequence: number): void {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  view.setBigInt64(43, id.producerId);
  view.setInt16(51, id.producerEpoch);
  view.setInt32(53, baseSequence);
  view.setUint32(17, crc32c(batch.subarray(21)));
}

function varintSize(v: number): number {
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  let n = 1;
  while (z >= 0x80) {
    z = Math.floor(z / 0x80);
    n++;
  }
  return n;
}
