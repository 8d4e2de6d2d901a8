import assert from "node:assert/strict";
import type { WebsiteCheck } from "@iot/shared";
import { WebsiteAlertManager } from "./alerts.ts";
import type { UrlState } from "./docs.ts";
import { foldCheck, noChanges } from "./fold.ts";
import { DEFAULT_WEBSITE_RULES } from "./rules.ts";

const url = "http://127.0.0.1:1/";
const check = (t: number, up: boolean): WebsiteCheck => ({
  url,
  name: "t",
  category: "c",
  timestamp: new Date(t).toISOString(),
  response_time_ms: 100,
  status_code: up ? 200 : 503,
  is_up: up,
  content_length: 1,
  error: up ? null : "HTTP 503",
});

function state(): UrlState {
  return { url, name: "t", category: "c", recent: [], lastT: -1, windows: new Map() };
}

Deno.test("a check counts once into the rolling list and every window; a replay is skipped", () => {
  const st = state();
  const alerts = new WebsiteAlertManager();
  const changes = noChanges();
  const o = { windowsS: [60, 300], rules: DEFAULT_WEBSITE_RULES, alerts, changes };
  assert.equal(foldCheck(st, check(60_000, true), 60_000, o), true);
  assert.equal(foldCheck(st, check(60_000, true), 60_000, o), false, "same event time: a replay");
  assert.equal(st.recent.length, 1);
  assert.equal(changes.windows.size, 2);
  assert.equal([...st.windows.values()].every((w) => w.checks === 1), true);
});

Deno.test("a second outage of the same url opens a second incident", () => {
  const st = state();
  const alerts = new WebsiteAlertManager();
  const o = { windowsS: [60], rules: DEFAULT_WEBSITE_RULES, alerts, changes: noChanges() };
  foldCheck(st, check(1000, false), 1000, o);
  foldCheck(st, check(1500, false), 1500, o);
  foldCheck(st, check(2000, true), 2000, o);
  foldCheck(st, check(3000, false), 3000, o);
  foldCheck(st, check(3500, false), 3500, o);
  const ids = alerts.drain().writes.filter((w) => w.rule === "WEBSITE_DOWN").map((w) => [w._id, w.state]);
  assert.deepEqual(ids, [[`${url}|1500`, "resolved"], [`${url}|3500`, "firing"]]);
});
