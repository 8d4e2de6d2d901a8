import assert from "node:assert/strict";
import { WebsiteAlertManager } from "./alerts.ts";
import type { WebsiteFinding } from "./rules.ts";

const subject = { url: "http://127.0.0.1:1/", name: "t", category: "c" };
const down: WebsiteFinding = { severity: "critical", value: 500, threshold: 0, message: "down" };
const slow: WebsiteFinding = { severity: "warning", value: 4000, threshold: 3000, message: "slow" };

Deno.test("one open incident per url: opens after two failed checks, groups rules, resolves on recovery", () => {
  const m = new WebsiteAlertManager();
  m.evaluate(subject, "WEBSITE_DOWN", down, 1000);
  assert.equal(m.drain().writes.length, 0, "one failed check is a blip");
  m.evaluate(subject, "WEBSITE_DOWN", down, 2000);
  m.evaluate(subject, "WEBSITE_DOWN", down, 2000); // replay: not counted twice
  m.evaluate(subject, "HIGH_RESPONSE_TIME", slow, 2000);
  let d = m.drain();
  assert.equal(d.writes.length, 1);
  assert.equal(d.writes[0].count, 3);
  assert.equal(d.writes[0]._id, "http://127.0.0.1:1/|2000");
  assert.deepEqual(Object.keys(d.writes[0].rules!).sort(), ["HIGH_RESPONSE_TIME", "WEBSITE_DOWN"]);
  assert.deepEqual(d.events.map((e) => e.event), ["opened", "updated"]);
  assert.equal("acknowledged" in d.writes[0], false, "the processor never writes acknowledged*");
  m.evaluate(subject, "WEBSITE_DOWN", undefined, 3000);
  m.evaluate(subject, "HIGH_RESPONSE_TIME", undefined, 3000);
  d = m.drain();
  assert.equal(d.writes[0].state, "resolved");
  assert.equal(d.writes[0].resolved_at?.getTime(), 3000);
  assert.deepEqual(d.events.map((e) => e.event), ["resolved"]);
  assert.equal(m.openIncident(subject.url), undefined);
  m.evaluate(subject, "WEBSITE_DOWN", down, 4000);
  m.evaluate(subject, "WEBSITE_DOWN", down, 5000);
  assert.equal(m.drain().events[0].alert._id, "http://127.0.0.1:1/|5000", "a second outage is a new incident");
});

Deno.test("an alert firing in the database (per-rule model) is continued, acknowledged fields dropped", () => {
  const m = new WebsiteAlertManager();
  m.load([{
    _id: "x|WEBSITE_DOWN|1",
    type: "WEBSITE_DOWN",
    rule: "WEBSITE_DOWN",
    severity: "critical",
    url: subject.url,
    name: "t",
    category: "c",
    value: 0,
    threshold: 0,
    message: "down",
    first_seen: new Date(1),
    last_seen: new Date(1),
    count: 3,
    state: "firing",
    acknowledged: true,
    acknowledged_by: "ops",
    updated_at: new Date(1),
  }]);
  m.evaluate(subject, "WEBSITE_DOWN", down, 10);
  let d = m.drain();
  assert.equal(d.events.length, 0);
  assert.equal(d.writes[0]._id, "x|WEBSITE_DOWN|1");
  assert.equal(d.writes[0].count, 4);
  assert.equal("acknowledged" in d.writes[0], false);
  assert.equal("acknowledged_by" in d.writes[0], false);
  m.evaluate(subject, "WEBSITE_DOWN", undefined, 20);
  d = m.drain();
  assert.equal(d.writes[0].state, "resolved");
  assert.deepEqual(d.events.map((e) => e.event), ["resolved"]);
});
