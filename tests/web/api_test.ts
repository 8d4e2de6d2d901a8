/**
 * The dashboard's HTTP surface via `app.request()` against the MongoDB-protocol
 * server: JSON API with validated parameters, pages rendered with data and a
 * CSP nonce, acknowledge with and without the token, health and metrics.
 */
import assert from "node:assert/strict";
import {
  type AlertDoc,
  COLLECTIONS,
  createLogger,
  type ReadingDoc,
  readingId,
  SENSOR_TYPES,
  type WindowDoc,
} from "@iot/shared";
import { useMongo, waitFor } from "../../dev/testing.ts";
import { createApp } from "../../web/mod.ts";
import { alertDoc, seedDashboard, windowDoc } from "./fixtures.ts";

const logger = createLogger({ name: "test", level: "warn" });
const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("dashboard API, pages and acknowledge against the MongoDB-protocol server", opts, async (t) => {
  const mongo = await useMongo();
  const db = mongo.client.db(mongo.dbName);
  const web = createApp({ db, logger });
  const secured = createApp({ db, logger, authToken: "s3cret-token" });
  const app = web.app;
  try {
    await seedDashboard(db);

    await t.step("GET /api/windows returns windows, filtered and bounded", async () => {
      const r = await app.request("/api/windows?type=humidity&location=office-lab&limit=5");
      assert.equal(r.status, 200);
      const body = await r.json();
      assert.equal(body.windows.length, 5);
      for (const w of body.windows) {
        assert.equal(w.sensor_type, "humidity");
        assert.equal(w.location, "office-lab");
        assert.equal(typeof w.start, "number");
      }
      assert.ok(body.windows[0].start > body.windows[4].start, "newest first");
      const all = await (await app.request("/api/windows")).json();
      assert.equal(all.windows.length, 500, "default limit");
      const since = body.windows[1].updated;
      const newer = await (await app.request(`/api/windows?type=humidity&location=office-lab&since=${since}`)).json();
      assert.equal(newer.windows.length, 1, "since = strictly newer updates");
      const sensor = await (await app.request("/api/windows?kind=sensor&sensor=sensor_0001&size=10")).json();
      assert.ok(sensor.windows.length > 5);
      assert.ok(sensor.windows.every((w: { sensor_id: string }) => w.sensor_id === "sensor_0001"));
    });

    await t.step("an unknown but well-formed type or location is an empty result, not an error", async () => {
      for (const path of ["/api/windows?type=plasma", "/api/windows?location=nowhere", "/api/tiles?type=plasma"]) {
        const r = await app.request(path);
        assert.equal(r.status, 200, path);
        const body = await r.json();
        if (body.windows) assert.deepEqual(body.windows, [], path);
        else assert.equal(body.tiles.openAlerts, 0, path);
      }
    });

    await t.step(
      "a type and location nobody described: windowed, listed, and offered by the page's filters",
      async () => {
        const end = Math.floor(Date.now() / 10_000) * 10_000 - 10_000;
        const docs = [0, 1, 2].map((i) => windowDoc("co2", "lab-7", end - i * 10_000, 600 + i * 10));
        await db.collection<WindowDoc>(COLLECTIONS.windows).insertMany(docs);
        const r = await app.request("/api/windows?type=co2&location=lab-7");
        assert.equal(r.status, 200);
        const body = await r.json();
        assert.deepEqual(body.windows.map((w: { avg: number }) => w.avg), [600, 610, 620], "newest first");
        assert.ok(
          body.windows.every((w: { sensor_type: string; location: string }) =>
            w.sensor_type === "co2" && w.location === "lab-7"
          ),
        );
        // The vocabulary is cached for a few seconds: wait until it lists the new names.
        const v = await waitFor(async () => {
          const b = await (await app.request("/api/vocabulary")).json();
          return b.locations.includes("lab-7") ? b : undefined;
        }, { timeoutMs: 10_000, what: "lab-7 in /api/vocabulary" });
        const names = v.types.map((t: { type: string }) => t.type);
        assert.deepEqual(names.slice(0, 6), [...SENSOR_TYPES], "built-in types first");
        assert.ok(names.includes("co2"));
        assert.deepEqual(v.types.find((t: { type: string }) => t.type === "co2"), {
          type: "co2",
          unit: "",
          builtin: false,
        });
        assert.deepEqual(v.types[0].band, { min: 15, max: 25 }, "built-in types keep their band");
        assert.ok(v.locations.includes("office-lab"));
        const overview = await (await app.request("/api/overview")).json();
        assert.ok(overview.vocabulary.locations.includes("lab-7"), "the overview carries the vocabulary");
        assert.ok(overview.windows.some((w: { sensor_type: string }) => w.sensor_type === "co2"));
        const html = await (await app.request("/")).text();
        assert.match(html, /<select name="type"[^>]*>[\s\S]*?<option value="co2">co2<\/option>[\s\S]*?<\/select>/);
        assert.match(html, /<select name="location"[^>]*>[\s\S]*?<option value="lab-7">lab-7<\/option>/);
        assert.match(html, /data-cell="co2\/lab-7"[^>]*>600</, "the grid shows the newest co2 window");
        assert.match(html, /data-type="co2" data-described="false"/, "a chart for co2");
        const filtered = await (await app.request("/?type=co2&location=lab-7")).text();
        assert.match(filtered, /<option value="co2" selected>co2<\/option>/);
        assert.ok(!filtered.includes('data-cell="temperature/'), "filter applied");
      },
    );

    await t.step("bad query parameters are a 400 with a JSON error", async () => {
      for (
        const path of [
          "/api/windows?limit=0",
          "/api/windows?limit=5001",
          "/api/windows?limit=abc",
          "/api/windows?size=30",
          "/api/windows?kind=other",
          "/api/windows?type=%24x",
          `/api/windows?type=${"x".repeat(65)}`,
          `/api/windows?location=${"x".repeat(201)}`,
          "/api/windows?location=%3Cscript%3E",
          "/api/windows?location=%20lab-7",
          "/api/overview?type=a%2Fb",
          "/api/vocabulary?x=1",
          "/api/windows?since=yesterday",
          "/api/windows?bogus=1",
          "/api/alerts?state=open",
          "/api/alerts?severity=info",
          "/api/alerts?limit=501",
          "/api/alerts?acknowledged=maybe",
          "/api/sensors/sensor_0001?limit=1001",
          "/api/sensors/bad%20id",
          `/api/sensors/${"x".repeat(65)}`,
          "/api/alerts?sensor=bad%2Fid",
          "/api/pipeline?x=1",
          "/api/tiles?type=%24x",
          "/api/alerts?unresolved=yes",
          "/api/alerts?unresolved=true&state=resolved",
          "/api/alerts?source=other",
          "/api/alerts?source=websites&sensor=sensor_0001",
        ]
      ) {
        const r = await app.request(path);
        assert.equal(r.status, 400, path);
        assert.match(r.headers.get("content-type") ?? "", /application\/json/, path);
        const body = await r.json();
        assert.equal(typeof body.error, "string", path);
        assert.ok(body.error.length > 5, path);
      }
    });

    await t.step("GET /api/alerts filters by state and severity", async () => {
      const firing = await (await app.request("/api/alerts?state=firing")).json();
      assert.deepEqual(firing.alerts.map((a: { id: string }) => a.id).sort(), [
        "sensor_0001|threshold|1",
        "sensor_0014|silence|1",
      ]);
      const warn = await (await app.request("/api/alerts?severity=warning&state=resolved")).json();
      assert.deepEqual(warn.alerts.map((a: { id: string }) => a.id), ["sensor_0009|zscore|1"]);
      const limited = await (await app.request("/api/alerts?limit=1")).json();
      assert.equal(limited.alerts.length, 1);
      assert.equal(limited.alerts[0].id, "sensor_0001|threshold|1", "most recently seen first");
    });

    await t.step("GET /api/sensors/:id and /api/pipeline", async () => {
      const s = await (await app.request("/api/sensors/sensor_0001?limit=50")).json();
      assert.equal(s.readings.length, 50);
      assert.ok(s.readings[0].t < s.readings[49].t, "oldest first");
      assert.equal(s.alerts[0].id, "sensor_0001|threshold|1");
      const p = await (await app.request("/api/pipeline")).json();
      assert.equal(p.deadLetters.count, 3);
      assert.equal(p.deadLetters.latest[0].reason, "invalid_json");
      assert.equal(p.kafka.status, "disabled");
      assert.deepEqual(p.stats.map((s: { id: string }) => s.id), ["processor:host-1", "producer:host-1"]);
      const tiles = (await (await app.request("/api/tiles")).json()).tiles;
      assert.deepEqual(
        { rate: tiles.rateIn, open: tiles.openAlerts, silent: tiles.silentSensors, lag: tiles.e2eLagMs },
        { rate: 1012, open: 2, silent: 1, lag: 180 },
      );
      assert.equal(tiles.readingsStored, 120);
    });

    await t.step("a sensor of any id: details from its stored data, a 404 when nothing is stored", async () => {
      const now = Date.now();
      const foreign = "lab-7.co2-01";
      await db.collection<ReadingDoc>(COLLECTIONS.readings).insertOne({
        _id: readingId({ sensor_id: foreign, timestamp: now - 1000 }),
        sensor_id: foreign,
        sensor_type: "co2",
        location: "lab-7",
        value: 612,
        timestamp: new Date(now - 1000),
        metadata: { unit: "ppm", sensor_model: "MODEL_03" },
        extra: { rssi: -61 },
        ingested_at: new Date(now),
      });
      const s = await (await app.request(`/api/sensors/${foreign}`)).json();
      assert.deepEqual(s.details, {
        sensor_type: "co2",
        location: "lab-7",
        unit: "ppm",
        model: "MODEL_03",
        from: "reading",
      });
      assert.deepEqual(s.readings.map((r: { value: number }) => r.value), [612]);
      const page = await app.request(`/sensors/${foreign}`);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /data-testid="sensor-type">co2</);
      assert.match(html, /data-testid="sensor-location">lab-7</);
      assert.match(html, /data-testid="sensor-model">MODEL_03</);
      assert.match(html, /612 ppm at/, "the unit the device sent");
      // Readings expired: the latest window still names the type and location (an undescribed type has no unit).
      const w = windowDoc("co2", "lab-9", Math.floor(now / 10_000) * 10_000 - 60_000, 700);
      await db.collection<WindowDoc>(COLLECTIONS.windows).insertOne({
        ...w,
        _id: `sensor|old-device|${w.window_start.getTime()}|10`,
        kind: "sensor",
        group: "old-device",
        sensor_id: "old-device",
      });
      const old = await (await app.request("/api/sensors/old-device")).json();
      assert.deepEqual(old.details, { sensor_type: "co2", location: "lab-9", unit: "", from: "window" });
      assert.equal(old.windows.length, 1);
      const known = await (await app.request("/api/sensors/sensor_0001?limit=1")).json();
      assert.deepEqual(known.details, {
        sensor_type: "temperature",
        location: "factory-floor-a1",
        unit: "°C",
        model: "TMP117",
        from: "reading",
      }, "read from the data, not derived from the id");
      // A well-formed id with nothing stored is unknown (404; it was a 400 before issue 13).
      for (const path of ["/api/sensors/not-a-sensor", "/api/sensors/sensor_9999"]) {
        const r = await app.request(path);
        assert.equal(r.status, 404, path);
        assert.match((await r.json()).error, /No reading or window of sensor/, path);
      }
      assert.equal((await app.request("/sensors/not-a-sensor")).status, 404);
    });

    await t.step("pages render current data on first paint, with a CSP nonce on every script", async () => {
      const r = await app.request("/?type=temperature");
      assert.equal(r.status, 200);
      const csp = r.headers.get("content-security-policy") ?? "";
      const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
      assert.ok(nonce, csp);
      assert.ok(!csp.includes("unsafe-inline"));
      const html = await r.text();
      for (const m of html.matchAll(/<script\b[^>]*>/g)) assert.ok(m[0].includes(`nonce="${nonce}"`), m[0]);
      assert.match(html, /data-island="WindowCharts"/);
      assert.match(html, /data-tile="open"><div class="label">Open alerts<\/div><div class="value">1</, "filtered");
      assert.match(html, /data-cell="temperature\/office-lab">\d/);
      assert.ok(!html.includes('data-cell="humidity/'), "type filter applied");
      assert.ok(html.includes("temperature 48.2 °C above 45"), "alert feed rendered");
      const boot = /<script type="module" nonce="[^"]+" src="(\/static\/_build\/boot-[A-Z0-9]+\.js)">/.exec(html);
      assert.ok(boot, "boot script");
      const js = await app.request(boot[1]);
      assert.equal(js.status, 200);
      assert.match(js.headers.get("cache-control") ?? "", /immutable/);
      assert.match(js.headers.get("content-type") ?? "", /javascript/);
      await js.body?.cancel();
      for (const path of ["/alerts?state=firing", "/pipeline", "/sensors/sensor_0001"]) {
        const p = await app.request(path);
        assert.equal(p.status, 200, path);
        const text = await p.text();
        assert.ok(text.includes("data-island"), path);
      }
      const alertsPage = await (await app.request("/alerts?state=resolved")).text();
      assert.ok(alertsPage.includes("z-score 4.1"));
      assert.ok(!alertsPage.includes("no reading for 60 s"));
      const pipe = await (await app.request("/pipeline")).text();
      assert.ok(pipe.includes("Unexpected token } in JSON"));
      assert.ok(pipe.includes("Kafka not configured"));
      assert.match(
        pipe,
        /data-testid="reported-lag"[\s\S]*?processor:host-1<\/td><td>2<\/td><td class="num">7</,
        "lag from heartbeat",
      );
      // Every consumed record in one outcome (issue 13): the outcomes, dead letters by reason, and their sum.
      const row = /<tr data-outcomes="processor:host-1">([\s\S]*?)<\/tr>/.exec(pipe)?.[1] ?? "";
      const cell = (name: string) => new RegExp(`data-outcome="${name}">([^<]*)<`).exec(row)?.[1];
      assert.equal(cell("consumed"), "3,600,000");
      assert.equal(cell("stored"), "3,599,100");
      assert.equal(cell("duplicate"), "850");
      assert.equal(cell("replay"), "0");
      assert.equal(cell("dead_lettered"), "12");
      assert.equal(cell("late"), "38");
      assert.equal(cell("sum"), "3,600,000", "the outcomes add up to consumed");
      assert.equal(cell("dead_lettered_by_reason"), "out_of_range 8 · invalid_json 4");
      assert.equal(cell("seq"), "gap 3 · missing 9 · restart 1");
      assert.ok(!pipe.includes('data-outcomes="producer:host-1"'), "producers have no outcomes");
      // Types are open (issue 13): an unknown but well-formed type is an empty page, a malformed one a 400.
      const plasma = await app.request("/?type=plasma");
      assert.equal(plasma.status, 200);
      const plasmaHtml = await plasma.text();
      assert.match(plasmaHtml, /data-cell="plasma\/office-lab">–</, "an empty plasma column");
      assert.doesNotMatch(plasmaHtml, /data-cell="[^"]+">[^–]/, "no values in the grid");
      assert.match(plasmaHtml, /data-latest="plasma">no data</);
      assert.equal((await app.request("/?type=%24x")).status, 400);
      assert.equal((await app.request("/sensors/..%2Fetc")).status, 400);
      assert.equal((await app.request("/nowhere")).status, 404);
      assert.equal((await app.request("/static/../deno.json")).status, 404);
    });

    await t.step("values from the database are escaped in the page and in island props", async () => {
      await db.collection<AlertDoc>(COLLECTIONS.incidents).insertOne(
        alertDoc("evil", { message: "</script><script>alert(1)</script><img src=x onerror=alert(2)>" }),
      );
      const html = await (await app.request("/alerts")).text();
      assert.ok(!html.includes("<img src=x"), "text escaped");
      assert.ok(!html.includes("</script><script>alert(1)"), "props escaped");
      assert.ok(html.includes("\\u003c/script\\u003e"));
      await db.collection(COLLECTIONS.incidents).deleteOne({ _id: "evil" as never });
    });

    await t.step("acknowledge sets acknowledged and leaves the processor's state", async () => {
      const id = "sensor_0001|threshold|1";
      const path = `/api/alerts/${encodeURIComponent(id)}/ack`;
      const r = await app.request(path, { method: "POST" });
      assert.equal(r.status, 200);
      const body = await r.json();
      assert.equal(body.alert.acknowledged, true);
      const doc = await db.collection<AlertDoc>(COLLECTIONS.incidents).findOne({ _id: id });
      assert.equal(doc?.acknowledged, true);
      assert.equal(doc?.state, "firing");
      assert.ok(doc?.acknowledged_at instanceof Date);
      assert.equal(doc?.acknowledged_by, "dashboard");
      assert.equal((await app.request("/api/alerts/nope/ack", { method: "POST" })).status, 404);
    });

    await t.step("with WEB_AUTH_TOKEN set, acknowledge needs the bearer token", async () => {
      const id = "sensor_0014|silence|1";
      const path = `/api/alerts/${encodeURIComponent(id)}/ack`;
      const none = await secured.app.request(path, { method: "POST" });
      assert.equal(none.status, 401);
      assert.equal(typeof (await none.json()).error, "string");
      const wrong = await secured.app.request(path, { method: "POST", headers: { authorization: "Bearer nope" } });
      assert.equal(wrong.status, 401);
      await wrong.body?.cancel();
      const col = db.collection<AlertDoc>(COLLECTIONS.incidents);
      assert.equal((await col.findOne({ _id: id }))?.acknowledged, false);
      const ok = await secured.app.request(path, {
        method: "POST",
        headers: { authorization: "Bearer s3cret-token" },
      });
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
      assert.equal((await col.findOne({ _id: id }))?.acknowledged, true);
      assert.equal((await col.findOne({ _id: id }))?.state, "firing");
    });

    await t.step("the no-JavaScript acknowledge form posts, checks the token and the origin", async () => {
      const id = "sensor_0009|zscore|1";
      const path = `/alerts/${encodeURIComponent(id)}/ack`;
      const form = (token: string) => {
        const f = new URLSearchParams({ token });
        return { method: "POST", body: f, headers: { "content-type": "application/x-www-form-urlencoded" } };
      };
      const bad = await secured.app.request(`http://localhost${path}`, {
        ...form("x"),
        headers: { ...form("x").headers, origin: "http://localhost" },
      });
      assert.equal(bad.status, 401);
      await bad.body?.cancel();
      const cross = await secured.app.request(`http://localhost${path}`, {
        ...form("s3cret-token"),
        headers: { ...form("x").headers, origin: "http://evil.example" },
      });
      assert.equal(cross.status, 403, "cross-site form post refused");
      await cross.body?.cancel();
      const ok = await secured.app.request(`http://localhost${path}`, {
        ...form("s3cret-token"),
        headers: { ...form("x").headers, origin: "http://localhost" },
      });
      assert.equal(ok.status, 303);
      assert.equal(ok.headers.get("location"), "/alerts");
      const doc = await db.collection<AlertDoc>(COLLECTIONS.incidents).findOne({ _id: id });
      assert.equal(doc?.acknowledged, true);
      assert.equal(doc?.state, "resolved");
    });

    await t.step("origins listed in WEB_ALLOWED_ORIGINS may post; others may not", async () => {
      const withOrigins = createApp({ db, logger, allowedOrigins: ["https://ops.example"] });
      try {
        const path = `http://localhost/api/alerts/${encodeURIComponent("sensor_0001|threshold|1")}/ack`;
        const ok = await withOrigins.app.request(path, { method: "POST", headers: { origin: "https://ops.example" } });
        assert.equal(ok.status, 200);
        await ok.body?.cancel();
        const no = await withOrigins.app.request(path, { method: "POST", headers: { origin: "https://evil.example" } });
        assert.equal(no.status, 403);
        assert.equal(typeof (await no.json()).error, "string");
      } finally {
        await withOrigins.close();
      }
    });

    await t.step("GET /api/alerts: unresolved, limit and source=sensors|websites|all", async () => {
      await db.collection(COLLECTIONS.websiteAlerts).insertOne({
        _id: "http://127.0.0.1:1/shop|WEBSITE_DOWN|1",
        type: "WEBSITE_DOWN",
        rule: "WEBSITE_DOWN",
        severity: "critical",
        url: "http://127.0.0.1:1/shop",
        name: "Shop",
        category: "test",
        value: 500,
        threshold: 0,
        message: "Shop is down: HTTP 500",
        first_seen: new Date(Date.now() - 2000),
        last_seen: new Date(Date.now() - 1000),
        count: 1,
        state: "firing",
        acknowledged: false,
        updated_at: new Date(),
      } as never);
      const ids = async (path: string) => {
        const r = await app.request(path);
        assert.equal(r.status, 200, path);
        return (await r.json()).alerts.map((a: { id: string; source: string }) => `${a.source}:${a.id}`);
      };
      assert.deepEqual((await ids("/api/alerts?unresolved=true")).sort(), [
        "sensors:sensor_0001|threshold|1",
        "sensors:sensor_0014|silence|1",
      ]);
      assert.deepEqual(await ids("/api/alerts?unresolved=false"), ["sensors:sensor_0009|zscore|1"]);
      assert.deepEqual(await ids("/api/alerts?limit=10&unresolved=true&source=websites"), [
        "websites:http://127.0.0.1:1/shop|WEBSITE_DOWN|1",
      ]);
      const all = await ids("/api/alerts?source=all&unresolved=true&limit=2");
      assert.deepEqual(all, ["websites:http://127.0.0.1:1/shop|WEBSITE_DOWN|1", "sensors:sensor_0001|threshold|1"]);
    });

    await t.step(
      "without a token, writes from other machines are refused (403 JSON); loopback and the token pass",
      async () => {
        const id = "sensor_0014|silence|1";
        const ack = () => new Request(`http://dash/api/alerts/${encodeURIComponent(id)}/ack`, { method: "POST" });
        const from = (hostname: string) => ({ remoteAddr: { transport: "tcp" as const, hostname, port: 50000 } });
        const remote = await app.fetch(ack(), from("192.168.1.20"));
        assert.equal(remote.status, 403);
        const reason = (await remote.json()).error;
        assert.match(reason, /WEB_AUTH_TOKEN/);
        const form = await app.fetch(
          new Request(`http://dash/alerts/${encodeURIComponent(id)}/ack`, { method: "POST" }),
          from("192.168.1.20"),
        );
        assert.equal(form.status, 403, "the no-JavaScript form too");
        assert.match(form.headers.get("content-type") ?? "", /application\/json/);
        await form.body?.cancel();
        const local = await app.fetch(ack(), from("127.0.0.1"));
        assert.equal(local.status, 200);
        await local.body?.cancel();
        const withToken = await secured.app.fetch(ack(), from("192.168.1.20"));
        assert.equal(withToken.status, 401, "with a token set, the token decides");
        await withToken.body?.cancel();
      },
    );

    await t.step("/healthz and /metrics", async () => {
      const h = await app.request("/healthz");
      assert.equal(h.status, 200);
      assert.equal((await h.json()).ok, true);
      const m = await (await app.request("/metrics")).text();
      assert.match(m, /web_http_requests_total\{method="GET",route="\/api\/windows",status="200"\} \d+/);
      assert.match(m, /web_http_requests_total\{method="GET",route="\/api\/windows",status="400"\} \d+/);
      assert.match(m, /# TYPE web_ws_clients gauge/);
      assert.match(m, /# TYPE web_ws_frames_sent_total counter/);
    });
  } finally {
    await web.close();
    await secured.close();
    await mongo.close();
  }
});

Deno.test("/healthz is 503 when MongoDB is unreachable", opts, async () => {
  const { MongoClient } = await import("mongodb");
  const client = new MongoClient("mongodb://127.0.0.1:1", { serverSelectionTimeoutMS: 300 });
  const web = createApp({ db: client.db("x"), logger });
  try {
    const r = await web.app.request("/healthz");
    assert.equal(r.status, 503);
    assert.equal((await r.json()).ok, false);
  } finally {
    await web.close();
    await client.close();
  }
});
