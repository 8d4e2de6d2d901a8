import assert from "node:assert/strict";
import { decodeCheck, validateCheck, type WebsiteCheck } from "./website.ts";

const good: WebsiteCheck = {
  url: "http://127.0.0.1:8080/",
  name: "n",
  category: "c",
  timestamp: "2026-01-01T00:00:00.000Z",
  response_time_ms: 12.5,
  status_code: 200,
  is_up: true,
  content_length: 10,
  error: null,
};

Deno.test("decodeCheck accepts a check and returns its event time", () => {
  const r = decodeCheck(new TextEncoder().encode(JSON.stringify(good)));
  assert.equal(r.ok, true);
  if (r.ok) {
    assert.deepEqual(r.check, good);
    assert.equal(r.eventTime, Date.UTC(2026, 0, 1));
  }
  assert.equal(validateCheck({ ...good, status_code: null, content_length: null, is_up: false, error: "x" }).ok, true);
});

Deno.test("decodeCheck names the first bad field", () => {
  const bad = (patch: Record<string, unknown>) => validateCheck({ ...good, ...patch });
  assert.match((bad({ url: "ftp://x" }) as { detail: string }).detail, /url/);
  assert.match((bad({ timestamp: "yesterday" }) as { detail: string }).detail, /timestamp/);
  assert.match((bad({ response_time_ms: -1 }) as { detail: string }).detail, /response_time_ms/);
  assert.match((bad({ status_code: 20.5 }) as { detail: string }).detail, /status_code/);
  assert.match((bad({ is_up: "yes" }) as { detail: string }).detail, /is_up/);
  assert.match((bad({ error: 1 }) as { detail: string }).detail, /error/);
  assert.equal(decodeCheck(null).ok, false);
  assert.equal(decodeCheck(new TextEncoder().encode("{")).ok, false);
  assert.equal(validateCheck([]).ok, false);
});
