import assert from "node:assert/strict";
import { TcpProxy } from "./tcp_proxy.ts";

function echoServer(): { port: number; close: () => void } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const c of l) c.readable.pipeTo(c.writable).catch(() => {});
  })();
  return { port: (l.addr as Deno.NetAddr).port, close: () => l.close() };
}

async function roundTrip(port: number, text: string): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.write(new TextEncoder().encode(text));
    const buf = new Uint8Array(64);
    const n = await c.read(buf);
    return n === null ? "" : new TextDecoder().decode(buf.subarray(0, n));
  } finally {
    c.close();
  }
}

Deno.test("TcpProxy forwards, refuses while blocked, and recovers", async () => {
  const echo = echoServer();
  const proxy = new TcpProxy({ targetPort: echo.port });
  try {
    assert.equal(await roundTrip(proxy.port, "hello"), "hello");
    proxy.block();
    assert.equal(await roundTrip(proxy.port, "lost").catch(() => ""), "", "blocked: connection closed");
    proxy.unblock();
    assert.equal(await roundTrip(proxy.port, "again"), "again");
    assert.equal(proxy.accepted, 2);
  } finally {
    await proxy.close();
    echo.close();
  }
});
