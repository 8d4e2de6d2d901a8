import assert from "node:assert/strict";
import { Hono } from "hono";
import { csp, nonceOf } from "./csp.ts";

Deno.test("csp: a fresh nonce per request in the policy, no unsafe-inline, no framing", async () => {
  const app = new Hono();
  app.use("*", csp());
  app.get("/", (c) => c.text(nonceOf(c)));
  const nonces = new Set<string>();
  for (let i = 0; i < 2; i++) {
    const r = await app.request("/");
    const policy = r.headers.get("content-security-policy") ?? "";
    const nonce = await r.text();
    assert.ok(nonce.length >= 16, nonce);
    assert.ok(policy.includes(`script-src 'self' 'nonce-${nonce}'`), policy);
    assert.ok(!policy.includes("unsafe-inline"), policy);
    assert.match(policy, /frame-ancestors 'none'/);
    assert.match(policy, /object-src 'none'/);
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    nonces.add(nonce);
  }
  assert.equal(nonces.size, 2, "one nonce per request");
});
