import assert from "node:assert/strict";
import type { WebsiteCheck } from "@iot/shared";
import { CheckerMetrics } from "./metrics.ts";

const check = (is_up: boolean, status_code: number | null, ms: number): WebsiteCheck => ({
  url: "http://127.0.0.1:1/x",
  name: "X",
  category: "t",
  timestamp: "2026-01-01T12:00:00.000Z",
  response_time_ms: ms,
  status_code,
  is_up,
  content_length: null,
  error: is_up ? null : "down",
});

Deno.test("CheckerMetrics counts checks by target and result, times answered checks, keeps the last status", () => {
  const m = new CheckerMetrics();
  m.record(check(true, 200, 120));
  m.record(check(false, 503, 5));
  m.record(check(false, null, 3000));
  const target = { target: "X", url: "http://127.0.0.1:1/x" };
  assert.equal(m.checks.get({ ...target, result: "up" }), 1);
  assert.equal(m.checks.get({ ...target, result: "down" }), 2);
  assert.equal(m.responseSeconds.count, 2, "a check without an answer has no response time");
  assert.equal(m.up.get(target), 0);
  assert.equal(m.lastStatus.get(target), 0);
  const page = m.registry.render();
  assert.match(page, /^checker_checks_total\{result="down",target="X",url="http:\/\/127\.0\.0\.1:1\/x"\} 2$/m);
  assert.match(page, /^checker_response_seconds_bucket\{le="0\.1"\} 1$/m);
  assert.match(page, /^checker_response_seconds_bucket\{le="0\.25"\} 2$/m);
  assert.match(page, /^checker_target_up\{target="X",url="http:\/\/127\.0\.0\.1:1\/x"\} 0$/m);
});
