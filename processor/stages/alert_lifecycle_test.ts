import assert from "node:assert/strict";
import { alertId, processorFields, type RulePolicy } from "./alert_lifecycle.ts";
import { AlertManager, type AlertSubject, DEFAULT_SENSOR_POLICY, sensorPolicy } from "./alerts.ts";
import type { AlertFinding } from "./alert_lifecycle.ts";
import type { AlertDoc } from "@iot/shared";

const subject: AlertSubject = { sensor_id: "sensor_0001", sensor_type: "temperature", location: "office-lab" };
const hot = (value: number, severity: "warning" | "critical" = "warning"): AlertFinding => ({
  severity,
  value,
  threshold: 25,
  baseline: 20,
  message: `hot ${value}`,
});

/** An injected clock. */
function clock(start = 1_000_000): { now: () => number; set(t: number): void } {
  let t = start;
  return { now: () => t, set: (v: number) => (t = v) };
}

const consecutive3: RulePolicy = {
  default: { for: { readings: 3 }, clear: { readings: 2, ms: 5000 } },
};

Deno.test("for: a rule opens an incident only after N findings in a row; a single spike stays an event", () => {
  const m = new AlertManager(consecutive3, clock().now);
  m.evaluate(subject, "threshold", hot(27), 1000);
  m.evaluate(subject, "threshold", undefined, 2000);
  m.evaluate(subject, "threshold", hot(27), 3000);
  m.evaluate(subject, "threshold", hot(28), 4000);
  assert.equal(m.drain().writes.length, 0, "two in a row are not enough");
  m.evaluate(subject, "threshold", hot(29), 5000);
  const { writes, events } = m.drain();
  assert.equal(writes.length, 1);
  const d = writes[0];
  assert.equal(d._id, alertId("sensor_0001", 5000));
  assert.equal(d.state, "firing");
  assert.equal(d.count, 3, "the findings that made it fire are counted");
  assert.equal(d.first_seen.getTime(), 3000);
  assert.equal(d.rules?.threshold?.active, true);
  assert.deepEqual(events.map((e) => e.event), ["opened"]);
});

Deno.test("for: N of the last M readings, and a duration", () => {
  const m = new AlertManager({ default: { for: { readings: 3, of: 5 }, clear: {} } }, clock().now);
  for (const [i, f] of [hot(27), undefined, hot(27), undefined, hot(27)].entries()) {
    m.evaluate(subject, "zscore", f, i * 1000);
  }
  assert.equal(m.openCount, 1, "3 of the last 5");
  const d = new AlertManager({ default: { for: { ms: 10_000 }, clear: {} } }, clock().now);
  for (let t = 0; t < 10_000; t += 2000) d.evaluate(subject, "threshold", hot(27), t);
  assert.equal(d.openCount, 0, "8 s is not 10 s");
  d.evaluate(subject, "threshold", undefined, 10_000);
  d.evaluate(subject, "threshold", hot(27), 12_000);
  d.evaluate(subject, "threshold", hot(27), 21_000);
  assert.equal(d.openCount, 0, "a clear reading restarts the duration");
  d.evaluate(subject, "threshold", hot(27), 22_000);
  assert.equal(d.openCount, 1);
  assert.equal(d.openIncident("sensor_0001")!.count, 3);
});

Deno.test("grouping: one incident per subject holds every rule that fired, worst severity, counts per rule", () => {
  const m = new AlertManager({ default: { for: {}, clear: {} } }, clock().now);
  m.evaluate(subject, "threshold", hot(27), 1000);
  m.evaluate(subject, "zscore", hot(27, "critical"), 1000);
  m.evaluate(subject, "threshold", hot(28), 2000);
  const { writes, events } = m.drain();
  assert.equal(writes.length, 1, "one incident");
  const d = writes[0];
  assert.deepEqual(Object.keys(d.rules!).sort(), ["threshold", "zscore"]);
  assert.equal(d.rules!.threshold!.count, 2);
  assert.equal(d.rules!.zscore!.count, 1);
  assert.equal(d.count, 3);
  assert.equal(d.severity, "critical");
  assert.equal(d.rule, "threshold", "the rule that opened it");
  assert.deepEqual(events.map((e) => e.event), ["opened", "updated"], "a rule joining is announced once");
  assert.equal(m.openCount, 1);
});

Deno.test("hysteresis: resolves once every rule stayed clear for its hold (readings and time)", () => {
  const c = clock();
  const m = new AlertManager(consecutive3, c.now);
  for (const t of [1000, 2000, 3000]) m.evaluate(subject, "threshold", hot(27), t);
  m.evaluate(subject, "threshold", undefined, 4000);
  m.evaluate(subject, "threshold", undefined, 5000);
  assert.equal(m.openCount, 1, "two clear readings but only 1 s");
  m.evaluate(subject, "threshold", hot(27), 6000);
  m.evaluate(subject, "threshold", undefined, 7000);
  m.evaluate(subject, "threshold", undefined, 11_999);
  assert.equal(m.openCount, 1, "a finding restarted the hold");
  m.evaluate(subject, "threshold", undefined, 12_000);
  const { writes, events } = m.drain();
  assert.equal(m.openCount, 0);
  const d = writes.at(-1)!;
  assert.equal(d.state, "resolved");
  assert.equal(d.resolved_at?.getTime(), 12_000);
  assert.equal(d.rules!.threshold!.active, false);
  assert.deepEqual(events.map((e) => e.event), ["opened", "resolved"]);
  // A new episode is a new incident with a new id.
  for (const t of [20_000, 21_000, 22_000]) m.evaluate(subject, "threshold", hot(27), t);
  assert.equal(m.drain().writes[0]._id, alertId("sensor_0001", 22_000));
});

Deno.test("an incident stays open while one of its rules is active", () => {
  const m = new AlertManager({ default: { for: {}, clear: {} } }, clock().now);
  m.evaluate(subject, "threshold", hot(27), 1000);
  m.evaluate(subject, "stuck", hot(27), 1000);
  m.evaluate(subject, "threshold", undefined, 2000);
  assert.equal(m.openCount, 1);
  assert.equal(m.openIncident("sensor_0001")!.rules!.threshold!.active, false);
  m.evaluate(subject, "stuck", undefined, 3000);
  assert.equal(m.openCount, 0);
});

Deno.test("replays: an evaluation not newer than the rule's latest changes nothing", () => {
  const m = new AlertManager({ default: { for: {}, clear: {} } }, clock().now);
  m.evaluate(subject, "threshold", hot(27), 1000);
  m.evaluate(subject, "threshold", hot(27), 2000);
  m.drain();
  m.evaluate(subject, "threshold", hot(27), 2000);
  m.evaluate(subject, "threshold", undefined, 1500);
  assert.equal(m.drain().writes.length, 0);
  assert.equal(m.openIncident("sensor_0001")!.count, 2);
});

Deno.test("silences: a silenced incident is written, not announced, and announced once the silence expires", () => {
  const c = clock(1000);
  const m = new AlertManager({ default: { for: {}, clear: {} } }, c.now);
  m.setSilences([{ id: "s1", matchers: { location: "office-lab", rule: "threshold" }, expiresAt: 60_000 }]);
  m.evaluate(subject, "threshold", hot(27), 1000);
  let d = m.drain();
  assert.equal(d.writes.length, 1, "recorded");
  assert.equal(d.writes[0].silenced, true);
  assert.equal(d.writes[0].silence_id, "s1");
  assert.equal(d.writes[0].announced, false);
  assert.deepEqual(d.events, [], "not announced");
  // Other subjects and rules are not matched.
  const other = { ...subject, sensor_id: "sensor_0002", location: "roof" };
  m.evaluate(other, "threshold", hot(27), 1000);
  assert.deepEqual(m.drain().events.map((e) => e.alert.sensor_id), ["sensor_0002"]);
  c.set(60_000);
  m.setSilences([{ id: "s1", matchers: { location: "office-lab", rule: "threshold" }, expiresAt: 60_000 }]);
  d = m.drain();
  assert.deepEqual(d.events.map((e) => [e.event, e.alert.sensor_id]), [["opened", "sensor_0001"]]);
  assert.equal(d.writes[0].silenced, false);
  assert.equal(d.writes[0].announced, true);
  // Silenced again (a new silence): written, nothing announced, also not its resolution.
  m.setSilences([{ id: "s2", matchers: { sensor_id: "sensor_0001" }, expiresAt: 120_000 }]);
  m.evaluate(subject, "threshold", undefined, 61_000);
  d = m.drain();
  assert.equal(d.writes[0].state, "resolved");
  assert.equal(d.writes[0].silenced, true);
  assert.deepEqual(d.events, []);
});

Deno.test("an incident opened and resolved while silenced is never announced", () => {
  const m = new AlertManager({ default: { for: {}, clear: {} } }, clock().now);
  m.setSilences([{ id: "s", matchers: { sensor_type: "temperature" }, expiresAt: Infinity }]);
  m.evaluate(subject, "threshold", hot(27), 1000);
  m.evaluate(subject, "threshold", undefined, 2000);
  const d = m.drain();
  assert.equal(d.writes[0].state, "resolved");
  assert.deepEqual(d.events, []);
});

Deno.test("restart and rebalance restore: open incidents loaded from the database continue and resolve", () => {
  const m = new AlertManager(consecutive3, clock().now);
  for (const t of [1000, 2000, 3000]) m.evaluate(subject, "threshold", hot(27), t);
  const stored: AlertDoc = { ...m.drain().writes[0], acknowledged: true, acknowledged_by: "op" };
  // A new instance (restart) or the partition's new owner (rebalance) loads the open incidents.
  const n = new AlertManager(consecutive3, clock().now);
  n.reset([stored, { ...stored, _id: "sensor_0003|1", sensor_id: "sensor_0003", state: "resolved" }]);
  assert.equal(n.openCount, 1, "resolved ones are not loaded");
  n.evaluate(subject, "threshold", hot(30, "critical"), 4000);
  let d = n.drain();
  assert.equal(d.writes[0]._id, stored._id, "continued, not a new incident");
  assert.equal(d.writes[0].count, 4);
  assert.equal("acknowledged" in d.writes[0], false, "the processor never writes acknowledged*");
  assert.deepEqual(d.events.map((e) => e.event), ["updated"], "severity worsened");
  n.evaluate(subject, "threshold", undefined, 5000);
  n.evaluate(subject, "threshold", undefined, 10_000);
  d = n.drain();
  assert.equal(d.writes[0].state, "resolved");
  assert.deepEqual(d.events.map((e) => e.event), ["resolved"]);
  // Rebalance: subjects no longer owned are forgotten.
  n.reset([stored]);
  n.retain((key) => key !== "sensor_0001");
  assert.equal(n.openCount, 0);
});

Deno.test("adopt continues the incident already open in the database; restore puts a failed flush back", () => {
  const m = new AlertManager({ default: { for: {}, clear: {} } }, clock().now);
  m.evaluate(subject, "threshold", hot(27), 5000);
  const batch = m.drain();
  m.restore(batch);
  const again = m.drain();
  assert.deepEqual(again.writes.map((w) => w._id), batch.writes.map((w) => w._id));
  m.restore(again);
  const existing: AlertDoc = {
    ...again.writes[0],
    _id: "sensor_0001|1000",
    first_seen: new Date(1000),
    count: 7,
    announced: true,
    rules: { threshold: { ...again.writes[0].rules!.threshold!, count: 7, first_seen: new Date(1000) } },
    acknowledged: false,
  };
  m.adopt(existing);
  const d = m.drain();
  assert.deepEqual(d.writes.map((w) => w._id), ["sensor_0001|1000"]);
  assert.equal(d.writes[0].count, 8);
  assert.equal(d.writes[0].rules!.threshold!.count, 8);
  assert.deepEqual(d.events, [], "no opened for the duplicate");
  assert.deepEqual(processorFields({ ...d.writes[0], acknowledged: true } as AlertDoc), d.writes[0]);
});

Deno.test("policies: overrides apply per rule over the defaults, bad values are refused", () => {
  const p = sensorPolicy({ threshold: { for: { readings: 2 } } });
  assert.deepEqual(p.threshold.for, { readings: 2 });
  assert.deepEqual(p.threshold.clear, DEFAULT_SENSOR_POLICY.default.clear);
  assert.deepEqual(p.stuck, DEFAULT_SENSOR_POLICY.stuck);
  assert.throws(() => new AlertManager({ default: { for: { readings: 0 }, clear: {} } }), /readings must be/);
  assert.throws(() => new AlertManager({ default: { for: { readings: 3, of: 2 }, clear: {} } }), /of must be/);
});

Deno.test("memory: a subject without findings in its window and without an incident is forgotten", () => {
  const m = new AlertManager({ default: { for: { readings: 2 }, clear: {} } }, clock().now);
  m.evaluate(subject, "threshold", hot(27), 0);
  assert.equal(m.subjectCount, 1);
  for (let i = 1; i <= 30; i++) m.evaluate(subject, "threshold", undefined, i * 1000);
  assert.equal(m.subjectCount, 0);
});
