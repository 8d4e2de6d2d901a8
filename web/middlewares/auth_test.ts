import assert from "node:assert/strict";
import { Hono } from "hono";
import { HttpError } from "../http_error.ts";
import { isLoopback, localWritesOnly, requireToken, safeEqual } from "./auth.ts";

function appWith(...mw: Parameters<Hono["use"]>[1][]): Hono {
  const app = new Hono();
  for (const m of mw) app.use("*", m);
  app.all("/x", (c) => c.text("ok"));
  app.onError((e, c) =>
    e instanceof HttpError ? c.json({ error: e.message }, e.status, e.headers) : c.text(String(e), 500)
  );
  return app;
}

const from = (hostname: string) => ({ remoteAddr: { transport: "tcp" as const, hostname, port: 40000 } });

Deno.test("safeEqual and isLoopback", () => {
  assert.equal(safeEqual("abc", "abc"), true);
  assert.equal(safeEqual("abc", "abd"), false);
  assert.equal(safeEqual("abc", "abcd"), false);
  assert.equal(safeEqual("", ""), true);
  for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "::ffff:127.0.0.1"]) assert.equal(isLoopback(h), true, h);
  for (const h of ["10.0.0.5", "192.168.1.2", "::ffff:10.0.0.1", "fe80::1", "0.0.0.0", "128.0.0.1"]) {
    assert.equal(isLoopback(h), false, h);
  }
});

Deno.test("localWritesOnly: without a token, writes only from loopback clients (403 JSON with the reason)", async () => {
  const app = appWith(localWritesOnly({}));
  const post = new Request("http://dash/x", { method: "POST" });
  assert.equal((await app.fetch(post.clone(), from("127.0.0.1"))).status, 200);
  assert.equal((await app.fetch(post.clone(), from("::1"))).status, 200);
  assert.equal((await app.request("/x", { method: "POST" })).status, 200, "in-process requests are local");
  const remote = await app.fetch(post.clone(), from("10.0.0.5"));
  assert.equal(remote.status, 403);
  const body = await remote.json();
  assert.match(body.error, /WEB_AUTH_TOKEN/);
  assert.ok(!body.error.includes("\n"), "one line");
  for (const method of ["PUT", "DELETE", "PATCH"]) {
    const r = await app.fetch(new Request("http://dash/x", { method }), from("10.0.0.5"));
    assert.equal(r.status, 403, method);
    await r.body?.cancel();
  }
  assert.equal((await app.fetch(new Request("http://dash/x"), from("10.0.0.5"))).status, 200, "reads pass");
  const tokened = appWith(localWritesOnly({ token: "t" }));
  assert.equal((await tokened.fetch(post.clone(), from("10.0.0.5"))).status, 200, "the token guards instead");
});

Deno.test("requireToken: bearer header or form field, 401 otherwise", async () => {
  const open = appWith(requireToken({ from: "bearer", message: "Token needed" }));
  assert.equal((await open.request("/x", { method: "POST" })).status, 200, "no token configured");
  const bearer = appWith(requireToken({ token: "s3cret", from: "bearer", message: "Token needed" }));
  const none = await bearer.request("/x", { method: "POST" });
  assert.equal(none.status, 401);
  assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="dashboard"');
  assert.deepEqual(await none.json(), { error: "Token needed" });
  const wrong = await bearer.request("/x", { method: "POST", headers: { authorization: "Bearer nope" } });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  const ok = await bearer.request("/x", { method: "POST", headers: { authorization: "Bearer s3cret" } });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
  const form = appWith(requireToken({ token: "s3cret", from: "form", message: "Token needed" }));
  const post = (token: string) =>
    form.request("/x", {
      method: "POST",
      body: new URLSearchParams({ token }),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
  assert.equal((await post("s3cret")).status, 200);
  const bad = await post("x");
  assert.equal(bad.status, 401);
  assert.equal(bad.headers.get("www-authenticate"), null);
  await bad.body?.cancel();
});
