/** `checkTarget` against local servers: up, slow, 500, silent (timeout) and refused. */
import assert from "node:assert/strict";
import { validateCheck } from "@iot/shared";
import { checkTarget, type WebsiteTarget } from "../../producer/http/mod.ts";
import { startLocalTargets } from "./servers.ts";

function target(url: string, timeoutS = 2): WebsiteTarget {
  return { url, name: "t", category: "test", intervalS: 5, timeoutS };
}

Deno.test("checkTarget reports up, 500, timeout and refused as valid check messages", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const srv = startLocalTargets(300);
  try {
    const fast = await checkTarget(target(srv.fast));
    assert.equal(fast.is_up, true);
    assert.equal(fast.status_code, 200);
    assert.equal(fast.content_length, "fast ok".length);
    assert.equal(fast.error, null);

    const slow = await checkTarget(target(srv.slow));
    assert.equal(slow.is_up, true);
    assert.ok(slow.response_time_ms >= 250, `slow took ${slow.response_time_ms} ms`);

    const err = await checkTarget(target(srv.error));
    assert.equal(err.is_up, false);
    assert.equal(err.status_code, 500);
    assert.match(err.error!, /HTTP 500/);

    const silent = await checkTarget(target(srv.silent, 0.3));
    assert.equal(silent.is_up, false);
    assert.equal(silent.status_code, null);
    assert.match(silent.error!, /Timed out after 300 ms/);

    const refused = await checkTarget(target(srv.refused));
    assert.equal(refused.is_up, false);
    assert.equal(refused.status_code, null);
    assert.match(refused.error!, /refused/i);

    for (const c of [fast, slow, err, silent, refused]) assert.equal(validateCheck(c).ok, true, JSON.stringify(c));
  } finally {
    await srv.close();
  }
});
