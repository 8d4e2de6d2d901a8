/**
 * A loopback TCP proxy for fault injection: forwards connections to a target
 * and can cut every connection and refuse new ones for a while, making a
 * service unreachable without stopping it (an in-memory server keeps its data).
 */

/** Options of `TcpProxy`. */
export interface TcpProxyOptions {
  targetPort: number;
  targetHost?: string;
  /** Listening port; 0 or absent: a free one. */
  port?: number;
}

/** A running proxy. */
export class TcpProxy {
  readonly #listener: Deno.Listener;
  readonly #conns = new Set<Deno.Conn>();
  #blocked = false;
  #closed = false;
  #accepting: Promise<void>;
  /** Connections accepted so far (for tests). */
  accepted = 0;

  constructor(readonly options: TcpProxyOptions) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: options.port ?? 0 });
    this.#accepting = this.#accept();
  }

  /** The port clients connect to. */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** Whether the proxy currently refuses traffic. */
  get blocked(): boolean {
    return this.#blocked;
  }

  async #accept(): Promise<void> {
    for await (const client of this.#listener) {
      if (this.#blocked || this.#closed) {
        client.close();
        continue;
      }
      this.accepted++;
      this.#pipe(client);
    }
  }

  async #pipe(client: Deno.Conn): Promise<void> {
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect({
        hostname: this.options.targetHost ?? "127.0.0.1",
        port: this.options.targetPort,
      });
    } catch {
      client.close();
      return;
    }
    this.#conns.add(client);
    this.#conns.add(upstream);
    const close = () => {
      for (const c of [client, upstream]) {
        if (this.#conns.delete(c)) {
          try {
            c.close();
          } catch { /* already closed */ }
        }
      }
    };
    await Promise.allSettled([
      client.readable.pipeTo(upstream.writable, { preventClose: true }),
      upstream.readable.pipeTo(client.writable, { preventClose: true }),
    ]).finally(close);
  }

  /** Cuts all open connections and refuses new ones until `unblock()`. */
  block(): void {
    this.#blocked = true;
    for (const c of [...this.#conns]) {
      this.#conns.delete(c);
      try {
        c.close();
      } catch { /* already closed */ }
    }
  }

  /** Lets traffic through again. */
  unblock(): void {
    this.#blocked = false;
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    this.block();
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    await this.#accepting.catch(() => {});
  }
}
