/**
 * The byte codec of the Kafka protocol: a growable big-endian writer (with
 * the zig-zag varints of record fields) and a reader over a response.
 */

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

  /** Unsigned varint (lengths and counts of flexible versions). */
  uvarint(v: number): this {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
    return this;
  }

  /** Compact bytes (flexible versions): uvarint length + 1, then the bytes. */
  compactBytes(b: Uint8Array): this {
    return this.uvarint(b.length + 1).bytes(b);
  }

  /** An empty tagged-field section (flexible versions). */
  noTags(): this {
    return this.uvarint(0);
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

  /** Unsigned varint (flexible versions). */
  uvarint(): number {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.buf[this.pos++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
    throw new RangeError("Malformed unsigned varint");
  }

  /** Compact nullable bytes (flexible versions). */
  compactBytes(): Uint8Array | null {
    const n = this.uvarint() - 1;
    if (n < 0) return null;
    const b = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** Compact nullable string (flexible versions). */
  compactString(): string | null {
    const b = this.compactBytes();
    return b === null ? null : decoder.decode(b);
  }

  /** Skips a tagged-field section (flexible versions). */
  skipTags(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint(); // tag
      this.pos += this.uvarint();
    }
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
