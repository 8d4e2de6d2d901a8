/**
 * The dashboard's websites surface against the MongoDB-protocol server: the
 * JSON API with validated parameters, the `/websites` page, and live frames on
 * `/ws/websites` when the processor updates a target.
 */
import assert from "node:assert/strict";
import { COLLECTIONS, createLogger, type WebsiteAlertDoc, type WebsiteMetricsDoc } from "@iot/shared";
import { useMongo, waitFor } from "../../dev/testing.ts";
import { createApp, startWeb } from "../../web/mod.ts";
import type { WebsiteFrame } from "../../web/lib/website_wire.ts";
import { alert, rolling, seed, T0 } from "./fixtures.ts";

const logger = createLogger({ name: "test", level: "warn" });
const opts = { sanitizeOps: false, sanitizeResources: false };
Deno.test("websites API and page", opts, async () => {
  const mongo = await useMongo();
  const db = mongo.client.db(mongo.dbName);
  const web = createApp({ db, logger });
  try {
    await seed(db);
    const r = await web.app.request(`/api/websites?since=${T0 - 1000}`);
    assert.equal(r.status, 200);
    const body = await r.json();
    assert.deepEqual(body.sites.map((s: { name: string }) => s.name), ["API", "Shop"]);
    const shop = body.sites[1];
    assert.equal(shop.is_up, false);
    assert.equal(shop.uptime_pct, 50);
    assert.equal(shop.recent.length, 10);
    assert.deepEqual(shop.recent[0], [T0, 100, true]);
    assert.equal(body.windows.length, 1);
    assert.equal(body.windows[0].start, T0);
    assert.deepEqual(body.alerts.map((a: { state: string }) => a.state), ["firing", "resolved"], "firing first");
    const firing = await (await web.app.request("/api/websites?state=firing")).json();
    assert.equal(firing.alerts.length, 1);

    for (
      const path of [
        "/api/websites?state=open",
        "/api/websites?window=120",
        "/api/websites?window=abc",
        "/api/websites?limit=0",
        "/api/websites?since=yesterday",
        "/api/websites?bogus=1",
      ]
    ) {
      const bad = await web.app.request(path);
      assert.equal(bad.status, 400, path);
      assert.match((await bad.json()).error, /Parameter|parameter/, path);
    }

    const page = await web.app.request("/websites");
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<a href="\/websites" class="active">Websites<\/a>/);
    assert.match(html, /data-site="http:\/\/127.0.0.1:1\/shop" data-up="false"/);
    assert.match(html, /data-site="http:\/\/127.0.0.1:1\/api" data-up="true"/);
    assert.match(html, /data-rule="WEBSITE_DOWN" data-state="firing"/);
    assert.match(html, /WebsitesLive/, "hydrated as an island");
    assert.equal((await web.app.request("/websites?x=1")).status, 400);
  } finally {
    await web.close();
    await mongo.close();
  }
});

Deno.test("websites live: frames on /ws/websites when a target changes", opts, async () => {
  const mongo = await useMongo();
  const db = mongo.client.db(mongo.dbName);
  const web = await startWeb({
    mongoClient: mongo.client,
    dbName: mongo.dbName,
    host: "127.0.0.1",
    port: 0,
    kafka: false,
    logger,
    liveMode: "polling",
  });
  const sockets: WebSocket[] = [];
  try {
    const refused = await fetch(`${web.url}/ws/websites`, {
      headers: { origin: "http://evil.example", upgrade: "websocket" },
    });
    assert.equal(refused.status, 403);
    await refused.body?.cancel();

    const frames: WebsiteFrame[] = [];
    const ws = new WebSocket(`${web.url.replace(/^http/, "ws")}/ws/websites`);
    sockets.push(ws);
    ws.onmessage = (ev) => frames.push(JSON.parse(String(ev.data)));
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("WebSocket error"));
    });
    await waitFor(() => frames.some((f) => f.t === "hello") || undefined, { what: "hello" });
    await new Promise((r) => setTimeout(r, 300)); // the polling feed starts from "now"
    await db.collection<WebsiteMetricsDoc>(COLLECTIONS.websiteMetrics).insertOne(
      rolling("http://127.0.0.1:1/new", "New", true, Date.now()),
    );
    await db.collection<WebsiteAlertDoc>(COLLECTIONS.websiteAlerts).insertOne(
      { ...alert("http://127.0.0.1:1/new", "firing", Date.now()), updated_at: new Date() },
    );
    const sites = await waitFor(() => {
      const s = frames.flatMap((f) => f.t === "batch" ? f.sites ?? [] : []);
      return s.length ? s : undefined;
    }, { timeoutMs: 10_000, what: "a sites frame" });
    assert.equal(sites[0].url, "http://127.0.0.1:1/new");
    assert.equal(sites[0].uptime_pct, 100);
    await waitFor(() => frames.some((f) => f.t === "batch" && f.alerts?.length) || undefined, {
      timeoutMs: 10_000,
      what: "an alerts frame",
    });

    // The browser never sends: a message closes its socket.
    const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener("close", (e) => resolve(e)));
    ws.send("hello?");
    assert.equal((await closed).code, 1008);
  } finally {
    for (const s of sockets) s.close();
    await web.stop();
    await mongo.close();
  }
});

Deno.test("website detail API: stats and hourly history over hours, alerts, 404 and 400", opts, async () => {
  const mongo = await useMongo();
  const db = mongo.client.db(mongo.dbName);
  const web = createApp({ db, logger });
  try {
    const url = "http://127.0.0.1:1/shop";
    const hour = Math.floor(Date.now() / 3600_000) * 3600_000 - 3600_000;
    const window = (start: number, size: number, samples: number[], up: number): WebsiteMetricsDoc => ({
      ...rolling(url, "Shop", true, start),
      _id: `${url}|${start}|${size}`,
      kind: "window",
      size_s: size,
      window_start: new Date(start),
      window_end: new Date(start + size * 1000),
      checks: samples.length,
      up,
      uptime_pct: (up / samples.length) * 100,
      avg_ms: samples.reduce((a, b) => a + b, 0) / samples.length,
      min_ms: Math.min(...samples),
      max_ms: Math.max(...samples),
      p95_ms: Math.max(...samples),
      recent: undefined,
      samples,
    });
    await db.collection<WebsiteMetricsDoc>(COLLECTIONS.websiteMetrics).insertMany([
      rolling(url, "Shop", false, Date.now()),
      rolling("http://127.0.0.1:1/api", "API", true, Date.now()),
      window(hour, 300, [100, 100, 100, 100], 4),
      window(hour + 300_000, 300, [200, 200, 200, 200], 2),
      window(hour + 3600_000, 300, [50, 50], 2),
      window(hour, 60, [100], 1), // the same checks in a smaller window: not counted twice
      window(hour - 48 * 3600_000, 300, [900], 0), // outside the default 24 hours
    ]);
    const firing = { ...alert(url, "firing", Date.now() - 60_000), updated_at: new Date() };
    await db.collection<WebsiteAlertDoc>(COLLECTIONS.websiteAlerts).insertMany([
      firing,
      { ...alert("http://127.0.0.1:1/api", "resolved", Date.now() - 7200_000), name: "API" },
    ]);

    const r = await web.app.request(`/api/website/${encodeURIComponent(url)}`);
    assert.equal(r.status, 200);
    const body = await r.json();
    assert.equal(body.site.url, url);
    assert.equal(body.hours, 24);
    assert.equal(body.window_s, 300);
    assert.deepEqual(body.stats, {
      checks: 10,
      up: 8,
      uptime_pct: 80,
      avg_ms: 130,
      min_ms: 50,
      max_ms: 200,
      p95_ms: 200,
    });
    assert.deepEqual(body.history, [
      { hour, checks: 8, uptime_pct: 75, avg_ms: 150 },
      { hour: hour + 3600_000, checks: 2, uptime_pct: 100, avg_ms: 50 },
    ]);
    assert.deepEqual(body.alerts.map((a: { id: string }) => a.id), [firing._id]);
    const week = await (await web.app.request(`/api/website/${encodeURIComponent(url)}?hours=72`)).json();
    assert.equal(week.stats.checks, 11, "hours widens the period");
    assert.equal(week.history.length, 3);

    const unknown = await web.app.request(`/api/website/${encodeURIComponent("http://127.0.0.1:1/nope")}`);
    assert.equal(unknown.status, 404);
    assert.match((await unknown.json()).error, /No website/);
    for (
      const path of [
        `/api/website/${encodeURIComponent(url)}?hours=0`,
        `/api/website/${encodeURIComponent(url)}?hours=721`,
        `/api/website/${encodeURIComponent(url)}?hours=abc`,
        `/api/website/${encodeURIComponent(url)}?bogus=1`,
        `/api/website/not-a-url`,
      ]
    ) {
      const bad = await web.app.request(path);
      assert.equal(bad.status, 400, path);
      assert.match(bad.headers.get("content-type") ?? "", /application\/json/, path);
      assert.equal(typeof (await bad.json()).error, "string", path);
    }

    // /api/websites: hours and has_alerts (a firing alert, or one seen in the period).
    const sites = await (await web.app.request("/api/websites?hours=24")).json();
    const byName = Object.fromEntries(sites.sites.map((s: { name: string; has_alerts: boolean }) => [s.name, s]));
    assert.equal(byName.Shop.has_alerts, true);
    assert.equal(byName.API.has_alerts, true, "an alert seen 2 h ago is in the last 24 h");
    const lastHour = await (await web.app.request("/api/websites")).json();
    const api = lastHour.sites.find((s: { name: string }) => s.name === "API");
    assert.equal(api.has_alerts, false, "not in the last hour (the default) and resolved");
    assert.equal((await web.app.request(`/api/websites?hours=2&since=${Date.now()}`)).status, 400);
    assert.equal((await web.app.request("/api/websites?hours=721")).status, 400);
  } finally {
    await web.close();
    await mongo.close();
  }
});
