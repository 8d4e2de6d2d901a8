import assert from "node:assert/strict";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { createLogger } from "@iot/shared";
import { HttpError, NotFoundError } from "../http_error.ts";
import { ParamError } from "../routes/params.ts";
import { errorHandler, notFoundHandler } from "./errors.tsx";

Deno.test("errors: JSON under /api/, an error page elsewhere, 500 without details", async () => {
  const logged: string[] = [];
  const logger = createLogger({ name: "test", level: "error", write: (line) => logged.push(line) });
  const render = (c: import("hono").Context, _v: unknown, status = 200) =>
    Promise.resolve(c.html("<p>page</p>", status as 200));
  const app = new Hono();
  app.onError(errorHandler({ logger, render }));
  app.notFound(notFoundHandler({ logger, render }));
  for (const prefix of ["/api", ""]) {
    app.get(`${prefix}/param`, () => {
      throw new ParamError("Parameter x must be 1");
    });
    app.get(`${prefix}/missing`, () => {
      throw new NotFoundError("No such thing");
    });
    app.get(`${prefix}/auth`, () => {
      throw new HttpError(401, "Token needed", { headers: { "WWW-Authenticate": "Bearer" } });
    });
    app.get(`${prefix}/boom`, () => {
      throw new Error("secret detail");
    });
    app.get(`${prefix}/hono`, () => {
      throw new HTTPException(413, { message: "Too large" });
    });
  }
  app.post("/form", () => {
    throw new HttpError(403, "Refused", { json: true });
  });

  const api = async (path: string) => {
    const r = await app.request(path);
    return { status: r.status, type: r.headers.get("content-type") ?? "", body: await r.text(), r };
  };
  assert.deepEqual(JSON.parse((await api("/api/param")).body), { error: "Parameter x must be 1" });
  assert.equal((await api("/api/param")).status, 400);
  assert.equal((await api("/api/missing")).status, 404);
  const auth = await api("/api/auth");
  assert.equal(auth.status, 401);
  assert.equal(auth.r.headers.get("www-authenticate"), "Bearer");
  const boom = await api("/api/boom");
  assert.equal(boom.status, 500);
  assert.deepEqual(JSON.parse(boom.body), { error: "Internal error" });
  assert.equal((await api("/api/hono")).status, 413);
  const nowhere = await api("/api/nowhere");
  assert.equal(nowhere.status, 404);
  assert.match(nowhere.type, /json/);

  for (const [path, status] of [["/param", 400], ["/missing", 404], ["/auth", 401], ["/nowhere", 404]] as const) {
    const r = await api(path);
    assert.equal(r.status, status, path);
    assert.match(r.type, /text\/html/, path);
  }
  const plain = await api("/boom");
  assert.equal(plain.status, 500);
  assert.ok(!plain.body.includes("secret detail"));
  const form = await app.request("/form", { method: "POST" });
  assert.equal(form.status, 403);
  assert.deepEqual(await form.json(), { error: "Refused" });
  assert.equal(logged.filter((l) => l.includes("secret detail")).length, 2, "unexpected errors are logged");
});
