import assert from "node:assert/strict";
import type { WebsiteCheck } from "@iot/shared";
import { checkLine } from "./check.ts";

const base: WebsiteCheck = {
  url: "http://127.0.0.1:8080/shop",
  name: "Shop",
  category: "demo",
  timestamp: "2026-01-01T12:00:00.000Z",
  response_time_ms: 123.4,
  status_code: 200,
  is_up: true,
  content_length: 12,
  error: null,
};

Deno.test("checkLine is the reference's one line per check: name (url) - UP|DOWN - seconds [- reason]", () => {
  assert.equal(checkLine(base), "Shop (http://127.0.0.1:8080/shop) - UP - 0.12 s");
  assert.equal(
    checkLine({ ...base, status_code: 503, is_up: false, response_time_ms: 4, error: "HTTP 503 Service Unavailable" }),
    "Shop (http://127.0.0.1:8080/shop) - DOWN - 0.00 s - HTTP 503 Service Unavailable",
  );
  assert.equal(
    checkLine({ ...base, status_code: null, is_up: false, response_time_ms: 3000.2, error: "Timed out after 3000 ms" }),
    "Shop (http://127.0.0.1:8080/shop) - DOWN - 3.00 s - Timed out after 3000 ms",
  );
  assert.equal(
    checkLine({ ...base, status_code: 500, is_up: false, error: null }),
    "Shop (http://127.0.0.1:8080/shop) - DOWN - 0.12 s - HTTP 500",
  );
});
