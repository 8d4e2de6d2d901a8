import assert from "node:assert/strict";
import { Hono } from "hono";
import { Registry } from "@iot/shared";
import { httpMetrics } from "./metrics.ts";

Deno.test("httpMetrics: counts by route pattern (not by raw path) and status", async () => {
  const registry = new Registry();
  const app = new Hono();
  app.use("*", httpMetrics(registry));
  app.get("/items/:id", (c) => c.req.param("id") === "bad" ? c.text("no", 400) : c.text("ok"));
  await app.request("/items/1");
  await app.request("/items/2");
  await app.request("/items/bad");
  const text = registry.render();
  assert.match(text, /web_http_requests_total\{method="GET",route="\/items\/:id",status="200"\} 2/);
  assert.match(text, /web_http_requests_total\{method="GET",route="\/items\/:id",status="400"\} 1/);
  assert.match(text, /web_http_request_seconds_count 3/);
});
