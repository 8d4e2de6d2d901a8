import assert from "node:assert/strict";
import { Hono } from "hono";
import { HttpError } from "../http_error.ts";
import { csrf, originAllowed } from "./csrf.ts";

Deno.test("originAllowed: own origin, listed origins and no origin", () => {
  const allowed = new Set(["https://ops.example"]);
  assert.equal(originAllowed(undefined, "http://localhost:8000/x", allowed), true);
  assert.equal(originAllowed("http://localhost:8000", "http://localhost:8000/x", allowed), true);
  assert.equal(originAllowed("https://ops.example", "http://localhost:8000/x", allowed), true);
  assert.equal(originAllowed("http://localhost:8001", "http://localhost:8000/x", allowed), false);
  assert.equal(originAllowed("https://evil.example", "http://localhost:8000/x", allowed), false);
});

Deno.test("csrf: cross-origin writes refused with a JSON 403, reads pass", async () => {
  const app = new Hono();
  app.use("*", csrf({ allowedOrigins: ["https://ops.example"] }));
  app.all("/x", (c) => c.text("ok"));
  app.onError((e, c) =>
    e instanceof HttpError ? c.json({ error: e.message, json: e.json }, e.status) : c.text("?", 500)
  );
  const post = (origin?: string) =>
    app.request("http://localhost/x", { method: "POST", headers: origin ? { origin } : {} });
  assert.equal((await post()).status, 200);
  assert.equal((await post("http://localhost")).status, 200);
  assert.equal((await post("https://ops.example")).status, 200);
  const refused = await post("https://evil.example");
  assert.equal(refused.status, 403);
  assert.deepEqual(await refused.json(), { error: "Cross-origin request refused", json: true });
  const get = await app.request("http://localhost/x", { headers: { origin: "https://evil.example" } });
  assert.equal(get.status, 200);
});
