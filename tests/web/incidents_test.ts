/**
 * The incident API against the MongoDB-protocol server: incidents by rule and
 * location, events by sensor, detector and time, silences created, listed and
 * ended behind the token, the tiles counting open incidents, and the Alerts
 * page grouped by rule.
 */
import assert from "node:assert/strict";
import { type AlertDoc, type AnomalyEventDoc, COLLECTIONS, createLogger } from "@iot/shared";
import { useMongo } from "../../dev/testing.ts";
import { createApp } from "../../web/mod.ts";
import { alertDoc } from "./fixtures.ts";

const logger = createLogger({ name: "test", level: "warn" });
const opts = { sanitizeOps: false, sanitizeResources: false };

function event(id: string, sensor: string, t: number, detectors: AnomalyEventDoc["detectors"]): AnomalyEventDoc {
  return {
    _id: id,
    sensor_id: sensor,
    sensor_type: "temperature",
    location: "office-lab",
    alert_type: detectors[0],
    detectors,
    severity: "warning",
    value: 30,
    threshold: 25,
    message: "hot",
    timestamp: new Date(t),
    created_at: new Date(t),
  };
}

Deno.test("incidents, events and silences API; tiles count open incidents", opts, async () => {
  const mongo = await useMongo();
  const db = mongo.client.db(mongo.dbName);
  const web = createApp({ db, logger, authToken: "tok" });
  const app = web.app;
  const auth = { authorization: "Bearer tok", "content-type": "application/json" };
  try {
    const now = Date.now();
    const rule = (r: string) => ({
      severity: "warning" as const,
      count: 9,
      first_seen: new Date(now - 9000),
      last_seen: new Date(now),
      value: 1,
      threshold: 1,
      message: r,
      active: true,
    });
    await db.collection<AlertDoc>(COLLECTIONS.incidents).insertMany([
      alertDoc("sensor_0001|1", { rules: { threshold: rule("threshold"), zscore: rule("zscore") } }),
      alertDoc("sensor_0002|1", { sensor_id: "sensor_0002", rule: "stuck", rules: { stuck: rule("stuck") } }),
      alertDoc("sensor_0003|1", {
        sensor_id: "sensor_0003",
        rule: "silence",
        rules: { silence: rule("silence") },
        state: "resolved",
      }),
    ]);
    await db.collection<AnomalyEventDoc>(COLLECTIONS.events).insertMany([
      event("sensor_0001:1", "sensor_0001", now - 3000, ["threshold", "zscore"]),
      event("sensor_0001:2", "sensor_0001", now - 2000, ["rate_of_change"]),
      event("sensor_0002:1", "sensor_0002", now - 1000, ["stuck"]),
    ]);

    const ids = async (path: string) =>
      ((await (await app.request(path)).json()).incidents as { id: string }[]).map((a) => a.id).sort();
    assert.deepEqual(await ids("/api/incidents?rule=zscore"), ["sensor_0001|1"]);
    assert.deepEqual(await ids("/api/incidents?state=firing"), ["sensor_0001|1", "sensor_0002|1"]);
    const one = (await (await app.request("/api/incidents?rule=zscore")).json()).incidents[0];
    assert.equal(one.status, "open");
    assert.deepEqual(Object.keys(one.rules).sort(), ["threshold", "zscore"]);
    assert.equal((await app.request("/api/incidents?rule=nope")).status, 400);

    const ev = async (q: string) =>
      ((await (await app.request(`/api/events?${q}`)).json()).events as { id: string }[]).map((e) => e.id);
    assert.deepEqual(await ev("sensor=sensor_0001"), ["sensor_0001:2", "sensor_0001:1"], "newest first");
    assert.deepEqual(await ev("detector=zscore"), ["sensor_0001:1"], "any detector of the event");
    assert.deepEqual(await ev(`since=${now - 2500}&until=${now - 1500}`), ["sensor_0001:2"]);
    assert.equal((await app.request("/api/events?detector=silence")).status, 400);

    const tiles = (await (await app.request("/api/tiles")).json()).tiles;
    assert.equal(tiles.openAlerts, 2, "open incidents");

    // Silences: behind the token, validated, listed, ended.
    const body = JSON.stringify({ location: "office-lab", rule: "stuck", reason: "maintenance", duration_s: 600 });
    const refused = await app.request("/api/silences", {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
    });
    assert.equal(refused.status, 401);
    const bad = await app.request("/api/silences", {
      method: "POST",
      body: JSON.stringify({ reason: "x", duration_s: 5 }),
      headers: auth,
    });
    assert.equal(bad.status, 400, "a silence needs a matcher");
    const created = await app.request("/api/silences", { method: "POST", body, headers: auth });
    assert.equal(created.status, 200);
    const { silence } = await created.json();
    assert.deepEqual(silence.matchers, { location: "office-lab", rule: "stuck" });
    assert.ok(silence.expires_at > now + 590_000);
    const listed = (await (await app.request("/api/silences")).json()).silences;
    assert.deepEqual(listed.map((s: { id: string }) => s.id), [silence.id]);
    const stored = await db.collection(COLLECTIONS.silences).findOne({ _id: silence.id });
    assert.equal(stored?.reason, "maintenance");
    assert.ok(stored?.expires_at instanceof Date);
    assert.equal((await app.request(`/api/silences/${silence.id}`, { method: "DELETE" })).status, 401);
    assert.equal((await app.request(`/api/silences/${silence.id}`, { method: "DELETE", headers: auth })).status, 200);
    assert.equal((await app.request(`/api/silences/${silence.id}`, { method: "DELETE", headers: auth })).status, 404);
    assert.deepEqual((await (await app.request("/api/silences")).json()).silences, []);

    // Ack through the incidents route.
    const ack = await app.request(`/api/incidents/${encodeURIComponent("sensor_0002|1")}/ack`, {
      method: "POST",
      headers: auth,
    });
    assert.equal((await ack.json()).incident.status, "acknowledged");

    // The Alerts page groups by rule with counts.
    const page = await (await app.request("/alerts?group=rule&state=firing")).text();
    assert.match(page, /data-group-count="1"/);
    assert.match(page, /data-group="stuck"/);
  } finally {
    await web.close();
    await mongo.close();
  }
});
