/**
 * A TLS front for a plain TCP server on loopback (the MongoDB-protocol
 * stand-in speaks no TLS): accepts TLS connections with the given certificate
 * and forwards the bytes to the target port.
 */

/** A running TLS front; `close()` ends it and every connection. */
export interface TlsTerminator {
  port: number;
  close(): void;
}

/** Starts a TLS front on a free loopback port, forwarding to `targetPort`. */
export function startTlsTerminator(options: { targetPort: number; cert: string; key: string }): TlsTerminator {
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: options.cert, key: options.key });
  const conns = new Set<Deno.Conn>();
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    try {
      await from.readable.pipeTo(to.writable);
    } catch { /* either side closed */ }
    for (const c of [from, to]) {
      try {
        c.close();
      } catch { /* already closed */ }
      conns.delete(c);
    }
  };
  (async () => {
    for await (const client of listener) {
      conns.add(client);
      Deno.connect({ hostname: "127.0.0.1", port: options.targetPort }).then((upstream) => {
        conns.add(upstream);
        pipe(client, upstream);
        pipe(upstream, client);
      }, () => client.close());
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close: () => {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
    },
  };
}
