/**
 * One request/response connection to a Kafka broker over Deno's TCP sockets:
 * size-prefixed frames, request headers with correlation ids, responses
 * matched to their requests, a deadline per request, and every pending
 * request failed when the connection closes. With TLS settings it runs over
 * `Deno.connectTls`; with SASL settings it authenticates (`sasl.ts`) before
 * it is handed out, and retires itself before the broker's session lifetime ends.
 */
import type { KafkaSasl, KafkaTls } from "@iot/shared";
import { KafkaAuthenticationError, KafkaConnectionError } from "./errors.ts";
import { Reader, Writer } from "./protocol/bytes.ts";
import { authenticate } from "./sasl.ts";

/** An API key and the version of it that a codec speaks. */
export interface Api {
  key: number;
  version: number;
  /** A flexible version: request header v2 and response header v1 (tagged fields). */
  flexible?: boolean;
}

/** Options of `Connection.open`. */
export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  /** Deadline of the TCP connect and the TLS handshake, and of each SASL request, ms. */
  timeoutMs: number;
  /** TLS to the broker (absent: plain TCP). */
  tls?: KafkaTls;
  /** SASL authentication on the connection (absent: none). */
  sasl?: KafkaSasl;
}

/** TLS alerts by which a broker refuses our client certificate (it arrives after the TLS 1.3 handshake). */
const REFUSED_TLS = /fatal alert: (\w*Certificate\w*|UnknownCA|AccessDenied)/;

/** Network errors of a TLS handshake that say nothing about certificates (a broker restarting, a reset). */
const TRANSIENT_TLS = /connection reset|broken pipe|unexpected eof|connection refused|timed out/i;

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
  #conn: Deno.Conn;
  #pending = new Map<
    number,
    {
      resolve: (r: Reader) => void;
      reject: (e: Error) => void;
      timer: ReturnType<typeof setTimeout>;
      flexible: boolean;
    }
  >();
  #correlation = 0;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  /** Takes no new requests and closes once the pending ones are answered (the SASL session ends soon). */
  #retiring = false;
  #retireTimer: ReturnType<typeof setTimeout> | undefined;
  readonly closedWith: Promise<Error>;
  #onClose!: (e: Error) => void;

  private constructor(conn: Deno.Conn, readonly address: string, readonly clientId: string) {
    this.#conn = conn;
    this.closedWith = new Promise((r) => this.#onClose = r);
    this.#readLoop();
  }

  /**
   * Opens a connection to `host:port` (over TLS, authenticated with SASL, when given); fails with a
   * `KafkaConnectionError` after `timeoutMs`, or a `KafkaAuthenticationError` when TLS or SASL refuses it.
   */
  static async open(o: ConnectionOptions): Promise<Connection> {
    const address = `${o.host}:${o.port}`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let socket: Deno.Conn | undefined;
    const connect = async (): Promise<Deno.Conn> => {
      if (!o.tls) {
        const tcp = socket = await Deno.connect({ hostname: o.host, port: o.port });
        tcp.setNoDelay(true);
        return tcp;
      }
      const { ca, cert, key } = o.tls;
      const tls = socket = await Deno.connectTls({
        hostname: o.host,
        port: o.port,
        ...(ca ? { caCerts: [ca] } : {}),
        ...(cert && key ? { cert, key } : {}),
      });
      try {
        await tls.handshake();
      } catch (e) {
        const m = (e as Error).message;
        if (TRANSIENT_TLS.test(m)) throw new KafkaConnectionError(`TLS handshake with ${address} failed: ${m}`);
        throw new KafkaAuthenticationError(`TLS handshake with ${address} failed: ${m}`);
      }
      return tls;
    };
    const conn = await Promise.race([
      connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new KafkaConnectionError(`Connect to ${address} timed out`)), o.timeoutMs);
      }),
    ]).catch((e) => {
      try {
        socket?.close();
      } catch { /* already closed */ }
      if (e instanceof KafkaConnectionError || e instanceof KafkaAuthenticationError) throw e;
      throw new KafkaConnectionError(`Cannot connect to ${address}: ${e.message}`);
    }).finally(() => clearTimeout(timer));
    const c = new Connection(conn, address, o.clientId);
    if (o.sasl) {
      try {
        const { sessionLifetimeMs } = await authenticate(c, o.sasl, o.timeoutMs);
        if (sessionLifetimeMs > 0) c.#retireAfter(sessionLifetimeMs * 0.85);
      } catch (e) {
        c.close(e as Error);
        throw e;
      }
    }
    return c;
  }

  #retireAfter(ms: number): void {
    this.#retireTimer = setTimeout(() => {
      this.#retiring = true;
      if (this.#pending.size === 0) this.close();
    }, ms);
    Deno.unrefTimer(this.#retireTimer);
  }

  /** Whether the connection is closed (by either side), or retiring: either way, open a new one. */
  get closed(): boolean {
    return this.#closed || this.#retiring;
  }

  /** Sends a request; resolves with a reader positioned after the response header (or null without response). */
  request(api: Api, body: Uint8Array, options: RequestOptions): Promise<Reader | null> {
    const { expectResponse = true, timeoutMs } = options;
    if (this.#closed) return Promise.reject(new KafkaConnectionError(`Connection to ${this.address} is closed`));
    const correlation = this.#correlation = (this.#correlation + 1) & 0x7fffffff;
    const header = new Writer(64);
    header.int32(0).int16(api.key).int16(api.version).int32(correlation).string(this.clientId);
    if (api.flexible) header.noTags();
    const frame = new Uint8Array(header.pos + body.length);
    frame.set(header.result());
    frame.set(body, header.pos);
    new DataView(frame.buffer).setInt32(0, frame.length - 4);
    const response = expectResponse
      ? new Promise<Reader>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.close(new KafkaConnectionError(`Request to ${this.address} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        this.#pending.set(correlation, { resolve, reject, timer, flexible: api.flexible ?? false });
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
            if (p.flexible) reader.skipTags();
            p.resolve(reader);
            if (this.#retiring && this.#pending.size === 0) this.close();
          }
        }
        if (start === end) start = end = 0;
      }
    } catch (e) {
      const m = (e as Error).message;
      this.close(
        e instanceof KafkaConnectionError
          ? e
          : REFUSED_TLS.test(m)
          ? new KafkaAuthenticationError(`Kafka at ${this.address} refused the TLS connection: ${m}`)
          : new KafkaConnectionError(`Read from ${this.address} failed: ${m}`),
      );
    }
  }

  /** Closes the socket and fails every pending request with `reason`. */
  close(reason: Error = new KafkaConnectionError(`Connection to ${this.address} closed`)): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retireTimer);
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
