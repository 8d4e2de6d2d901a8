import assert from "node:assert/strict";
import type { WebsiteCheck } from "@iot/shared";
import { DEFAULT_WEBSITE_RULES, evaluateRules } from "./rules.ts";
import { summarize } from "./stats.ts";

function check(up: boolean, ms: number): WebsiteCheck {
  return {
    url: "http://127.0.0.1:1/",
    name: "t",
    category: "c",
    timestamp: "2026-01-01T00:00:00Z",
    response_time_ms: ms,
    status_code: up ? 200 : 500,
    is_up: up,
    content_length: 2,
    error: up ? null : "HTTP 500",
  };
}

Deno.test("WEBSITE_DOWN follows the single check", () => {
  const r = evaluateRules(check(false, 5), summarize([{ ms: 5, up: false }]), DEFAULT_WEBSITE_RULES);
  assert.equal(r.WEBSITE_DOWN?.severity, "critical");
  assert.match(r.WEBSITE_DOWN!.message, /HTTP 500/);
  assert.equal(
    evaluateRules(check(true, 5), summarize([{ ms: 5, up: true }]), DEFAULT_WEBSITE_RULES).WEBSITE_DOWN,
    undefined,
  );
});

Deno.test("rolling rules wait for minChecks, then use the thresholds", () => {
  const slow = Array.from({ length: 4 }, () => ({ ms: 5000, up: true }));
  assert.equal(evaluateRules(check(true, 5000), summarize(slow), DEFAULT_WEBSITE_RULES).HIGH_RESPONSE_TIME, undefined);
  slow.push({ ms: 5000, up: true });
  const high = evaluateRules(check(true, 5000), summarize(slow), DEFAULT_WEBSITE_RULES).HIGH_RESPONSE_TIME;
  assert.equal(high?.severity, "warning");
  assert.equal(high?.value, 5000);
  assert.equal(high?.threshold, 3000);
  const exactly = Array.from({ length: 5 }, () => ({ ms: 3000, up: true }));
  assert.equal(
    evaluateRules(check(true, 3000), summarize(exactly), DEFAULT_WEBSITE_RULES).HIGH_RESPONSE_TIME,
    undefined,
  );

  const mixed = [...Array.from({ length: 19 }, () => ({ ms: 10, up: true })), { ms: 10, up: false }];
  assert.equal(evaluateRules(check(true, 10), summarize(mixed), DEFAULT_WEBSITE_RULES).LOW_UPTIME, undefined, "95 %");
  mixed.push({ ms: 10, up: false });
  const low = evaluateRules(check(false, 10), summarize(mixed), DEFAULT_WEBSITE_RULES).LOW_UPTIME;
  assert.equal(low?.severity, "critical");
  assert.ok(low!.value < 95);
  const custom = evaluateRules(check(true, 10), summarize(mixed), { ...DEFAULT_WEBSITE_RULES, minUptimePct: 80 });
  assert.equal(custom.LOW_UPTIME, undefined);
});
