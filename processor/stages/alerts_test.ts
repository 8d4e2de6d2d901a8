import assert from "node:assert/strict";
import { alertId, AlertManager, type AlertSubject, processorFields } from "./alerts.ts";
import type { Finding } from "./detectors.ts";

const subject: AlertSubject = { sensor_id: "sensor_0001", sensor_type: "temperature", location: "office-lab" };
const hot = (value: number, severity: "warning" | "critical" = "warning"): Finding => ({
  rule: "threshold",
  severity,
  value,
  threshold: 25,
  baseline: 20,
  message: `hot ${value}`,
});

Deno.test("one open alert per sensor and rule: repeated findings update it", () => {
  const m = new AlertManager(5000);
  m.evaluate(subject, "threshold", hot(27), 1000);
  m.evaluate(subject, "threshold", hot(40, "critical"), 2000);
  m.evaluate(subject, "threshold", hot(26), 3000);
  const { writes, events } = m.drain();
  assert.equal(writes.length, 1);
  const a = writes[0];
  assert.equal(a._id, alertId("sensor_0001", "threshold", 1000));
  assert.equal(a.count, 3);
  assert.equal(a.state, "firing");
  assert.equal(a.severity, "critical", "severity escalates and stays");
  assert.equal(a.value, 26);
  assert.equal(a.last_seen.getTime(), 3000);
  assert.deepEqual(events.map((e) => e.event), ["new"]);
  assert.equal(m.openCount, 1);
});

Deno.test("a replayed finding (not newer than last_seen) does not count twice", () => {
  const m = new AlertManager(5000);
  m.evaluate(subject, "threshold", hot(27), 1000);
  m.evaluate(subject, "threshold", hot(27), 2000);
  m.drain();
  m.evaluate(subject, "threshold", hot(27), 2000);
  m.evaluate(subject, "threshold", hot(27), 1500);
  assert.equal(m.drain().writes.length, 0);
  assert.equal(m.openAlert("sensor_0001", "threshold")!.count, 2);
});

Deno.test("an alert resolves only after the condition stayed clear for the hold time", () => {
  const m = new AlertManager(5000);
  m.evaluate(subject, "threshold", hot(27), 1000);
  m.drain();
  m.evaluate(subject, "threshold", undefined, 2000);
  m.evaluate(subject, "threshold", undefined, 6999);
  assert.equal(m.drain().writes.length, 0, "still within the hold");
  m.evaluate(subject, "threshold", hot(27), 7000);
  m.evaluate(subject, "threshold", undefined, 8000);
  m.evaluate(subject, "threshold", undefined, 12_999);
  assert.equal(m.openAlert("sensor_0001", "threshold")!.state, "firing", "the hold restarted");
  m.evaluate(subject, "threshold", undefined, 13_000);
  const { writes, events } = m.drain();
  assert.equal(writes.at(-1)!.state, "resolved");
  assert.equal(writes.at(-1)!.resolved_at!.getTime(), 13_000);
  assert.deepEqual(events.map((e) => e.event), ["resolved"]);
  assert.equal(m.openCount, 0);
  m.evaluate(subject, "threshold", hot(30), 20_000);
  const again = m.drain();
  assert.equal(again.writes[0]._id, alertId("sensor_0001", "threshold", 20_000), "a new alert after resolution");
});

Deno.test("open alerts loaded from the database are continued, and a failed flush can be restored", () => {
  const m = new AlertManager(0);
  m.evaluate(subject, "threshold", hot(27), 1000);
  const firing = m.drain().writes[0];
  const n = new AlertManager(0);
  n.load([firing]);
  n.evaluate(subject, "threshold", hot(28), 2000);
  const batch = n.drain();
  assert.equal(batch.writes[0]._id, firing._id);
  assert.equal(batch.writes[0].count, 2);
  n.restore(batch);
  assert.equal(n.drain().writes.length, 1);
  n.evaluate(subject, "threshold", undefined, 3000);
  assert.equal(n.drain().writes[0].state, "resolved", "hold 0 resolves on the first clear evaluation");
});

Deno.test("adopt continues the alert already open in the database instead of a duplicate", () => {
  const m = new AlertManager(0);
  m.evaluate(subject, "threshold", hot(27), 5000);
  const existing = { ...m.drain().writes[0], _id: alertId("sensor_0001", "threshold", 1000), count: 4 };
  existing.first_seen = new Date(1000);
  m.evaluate(subject, "threshold", hot(27), 6000);
  m.adopt(existing);
  const { writes } = m.drain();
  assert.equal(writes.length, 1);
  assert.equal(writes[0]._id, existing._id);
  assert.equal(writes[0].count, 6);

  // A freshly opened alert that turns out to duplicate one firing elsewhere publishes no "new" event.
  const n = new AlertManager(0);
  n.evaluate(subject, "threshold", hot(27), 9000);
  const batch = n.drain();
  n.restore(batch);
  n.adopt(existing);
  const again = n.drain();
  assert.deepEqual(again.writes.map((w) => w._id), [existing._id]);
  assert.deepEqual(again.events, []);
});

Deno.test("alerts loaded from the database never carry the web app's acknowledged fields into writes", () => {
  const m = new AlertManager(0);
  m.evaluate(subject, "threshold", hot(27), 1000);
  const stored = { ...m.drain().writes[0], acknowledged: true, acknowledged_by: "op", acknowledged_at: new Date() };
  const n = new AlertManager(0);
  n.load([stored]);
  n.evaluate(subject, "threshold", hot(28), 2000);
  const w = n.drain().writes[0];
  assert.equal(w.count, 2);
  assert.ok(!("acknowledged" in w) && !("acknowledged_by" in w) && !("acknowledged_at" in w));
  assert.deepEqual(Object.keys(processorFields(stored)).filter((k) => k.startsWith("ack")), []);
});
