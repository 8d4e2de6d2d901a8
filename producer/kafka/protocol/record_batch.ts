/**
 * Kafka v2 record batches (magic 2): encoding with optional gzip
 * compression, the CRC-32C they carry, and rewriting the producer identity
 * and base sequence of an encoded batch in place.
 */
import { gzipSync } from "node:zlib";
import { Writer } from "./bytes.ts";

const encoder = new TextEncoder();

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

/** Producer identity of an idempotent producer; `producerId` -1 when not idempotent. */
export interface ProducerIdentity {
  producerId: bigint;
  producerEpoch: number;
}

/** Record batch compression. */
export type BatchCompression = "none" | "gzip";

const scratch = { buf: new Uint8Array(64 * 1024) };

/** Bytes of a v2 record batch besides its records (header, CRC, producer fields). */
export const BATCH_OVERHEAD = 61;

/** A record header: name and value, encoded. */
export type RecordHeader = readonly [name: Uint8Array, value: Uint8Array];

/**
 * Encoded size of one record (timestamp and offset deltas of at most 5 bytes), an upper bound. A length
 * of -1 is a null key or value; `headerBytes` is `headersSize` of its headers (1: none).
 */
export function recordSize(keyLength: number, valueLength: number, headerBytes = 1): number {
  const body = 1 + 1 + 5 + fieldSize(keyLength) + fieldSize(valueLength) + headerBytes;
  return varintSize(body) + body;
}

/** Encoded size of a record's headers section (count and entries). */
export function headersSize(headers: readonly RecordHeader[] | undefined): number {
  let n = varintSize(headers?.length ?? 0);
  for (const [k, v] of headers ?? []) n += fieldSize(k.length) + fieldSize(v.length);
  return n;
}

/** UTF-8 length of a string value, or the length of bytes; -1 for null. */
export function valueLength(value: string | Uint8Array | null): number {
  if (value === null) return -1;
  return typeof value === "string" ? encoder.encode(value).length : value.length;
}

function fieldSize(length: number): number {
  return varintSize(length) + Math.max(0, length);
}

/**
 * Accumulates the records of one partition and encodes them as one v2 record
 * batch. Keys are bytes (cached by the caller); values are strings or bytes.
 */
export class RecordBatchBuilder {
  #records = new Writer(64 * 1024);
  count = 0;

  /** Encoded size of the batch so far, uncompressed. */
  get sizeInBytes(): number {
    return BATCH_OVERHEAD + this.#records.pos;
  }

  /**
   * Adds a record with timestamp delta 0 (all records of a batch share the batch time); a null key or
   * value is encoded as such, headers in order.
   */
  add(key: Uint8Array | null, value: string | Uint8Array | null, headers?: readonly RecordHeader[]): void {
    let valueBytes: Uint8Array | null;
    if (typeof value === "string") {
      if (scratch.buf.length < value.length * 3) scratch.buf = new Uint8Array(value.length * 3);
      const { written } = encoder.encodeInto(value, scratch.buf);
      valueBytes = scratch.buf.subarray(0, written);
    } else valueBytes = value;
    const offsetDelta = this.count++;
    const keyLength = key?.length ?? -1;
    const valueLength = valueBytes?.length ?? -1;
    const body = 1 + 1 + varintSize(offsetDelta) + fieldSize(keyLength) + fieldSize(valueLength) +
      headersSize(headers);
    const w = this.#records;
    w.ensure(body + 5);
    w.varint(body);
    w.buf[w.pos++] = 0; // attributes
    w.buf[w.pos++] = 0; // timestamp delta 0
    w.varint(offsetDelta);
    w.varint(keyLength);
    if (key) w.bytes(key);
    w.varint(valueLength);
    if (valueBytes) w.bytes(valueBytes);
    w.varint(headers?.length ?? 0);
    for (const [k, v] of headers ?? []) {
      w.ensure(k.length + v.length + 10);
      w.varint(k.length).bytes(k).varint(v.length).bytes(v);
    }
  }

  /** Encodes the batch. `baseSequence` -1 when not idempotent. */
  build(timestamp: number, id: ProducerIdentity, baseSequence: number, compression: BatchCompression): Uint8Array {
    let records = this.#records.result();
    let attributes = 0;
    if (compression === "gzip") {
      records = new Uint8Array(gzipSync(records));
      attributes = 1;
    }
    const w = new Writer(BATCH_OVERHEAD + records.length);
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
