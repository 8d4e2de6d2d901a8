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
