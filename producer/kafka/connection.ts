/**
 * One request/response connection to a Kafka broker over Deno's TCP sockets:
 * size-prefixed frames, request headers with correlation ids, responses
 * matched to their requests, a deadline per request, and every pending
 * request failed when the connection closes.
 */
import { KafkaConnectionError } from "./errors.ts";
import { Reader, Writer } from "./protocol/bytes.ts";

/** An API key and the version of it that a codec speaks. */
export interface Api {
  key: number;
  version: number;
}

/** Options of `Connection.request`. */
export interface RequestOptions {
  /** Wait for a response (default true; false for Produce with acks=0). */
  expectResponse?: boolean;
  /** The connection is closed when no response arrived within this, ms. */
  timeoutMs: number;
}

/** A broker address, `host:port` (IPv6 hosts in brackets). */
export interface BrokerAddress {
  host: string;
  port: number;
}

/** Parses `host:port` (as given in `--brokers`). */
export function parseAddress(address: string): BrokerAddress {
  const i = address.lastIndexOf(":");
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(address.slice(i + 1)) };
}

/** One request/response connection to a broker. */
export class Connection {
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

  /** Opens a connection to `host:port`; fails with a `KafkaConnectionError` after `timeoutMs`. */
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

  /** Whether the connection is closed (by either side). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a request; resolves with a reader positioned after the response header (or null without response). */
  request(api: Api, body: Uint8Array, options: RequestOptions): Promise<Reader | null> {
    const { expectResponse = true, timeoutMs } = options;
    if (this.#closed) return Promise.reject(new KafkaConnectionError(`Connection to ${this.address} is closed`));
    const correlation = this.#correlation = (this.#correlation + 1) & 0x7fffffff;
    const header = new Writer(64);
    header.int32(0).int16(api.key).int16(api.version).int32(correlation).string(this.clientId);
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
