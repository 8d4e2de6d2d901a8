import assert from "node:assert/strict";
import { Hono } from "hono";
import { compression } from "./compression.ts";

Deno.test("compression: large bodies gzipped when accepted, excepted paths untouched", async () => {
  const app = new Hono();
  app.use("*", compression({ except: ["/ws"] }));
  const big = "x".repeat(5000);
  app.get("/page", (c) => c.text(big));
  app.get("/ws", (c) => c.text(big));
  const gz = await app.request("/page", { headers: { "accept-encoding": "gzip" } });
  assert.equal(gz.headers.get("content-encoding"), "gzip");
  const text = await new Response(gz.body!.pipeThrough(new DecompressionStream("gzip"))).text();
  assert.equal(text, big);
  const plain = await app.request("/page");
  assert.equal(plain.headers.get("content-encoding"), null);
  assert.equal(await plain.text(), big);
  const ws = await app.request("/ws", { headers: { "accept-encoding": "gzip" } });
  assert.equal(ws.headers.get("content-encoding"), null);
  assert.equal(await ws.text(), big);
});
