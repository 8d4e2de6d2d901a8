/** Local HTTP targets on 127.0.0.1 for the uptime tests: fast, slow, failing, silent and refusing. */

/** Running local targets; `close()` stops them all. */
export interface LocalTargets {
  /** 200 with a small body at once. */
  fast: string;
  /** 200 after `slowMs`. */
  slow: string;
  /** 500. */
  error: string;
  /** Accepts the connection and never answers. */
  silent: string;
  /** Nothing listens there: connections are refused. */
  refused: string;
  /** Answers 200 or 503 as `setFlaky(up)` says. */
  flaky: string;
  setFlaky(up: boolean): void;
  close(): Promise<void>;
}

/** Starts the local targets. */
export function startLocalTargets(slowMs = 1500): LocalTargets {
  let flakyUp = true;
  const abort = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: abort.signal, onListen: () => {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/slow") {
        await new Promise((r) => setTimeout(r, slowMs));
        return new Response("slow ok");
      }
      if (path === "/error") return new Response("boom", { status: 500 });
      if (path === "/flaky") return flakyUp ? new Response("ok") : new Response("down", { status: 503 });
      return new Response("fast ok");
    },
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  const silentListener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of silentListener) held.push(conn);
    } catch { /* closed */ }
  })();
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const refusedPort = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return {
    fast: `${base}/fast`,
    slow: `${base}/slow`,
    error: `${base}/error`,
    flaky: `${base}/flaky`,
    silent: `http://127.0.0.1:${(silentListener.addr as Deno.NetAddr).port}/`,
    refused: `http://127.0.0.1:${refusedPort}/`,
    setFlaky: (up) => flakyUp = up,
    close: async () => {
      silentListener.close();
      for (const c of held) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await accepting;
      abort.abort();
      await server.finished;
    },
  };
}
