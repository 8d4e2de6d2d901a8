/**
 * Live updates over the WebSocket against the MongoDB-protocol server: origin
 * check, frames on inserts (change streams and the polling fallback), garbage
 * and flooding clients disconnected, slow clients coalesced, resume tokens.
 */
import assert from "node:assert/strict";
import type { Collection, Document } from "mongodb";
import { type AlertDoc, COLLECTIONS, createLogger, Registry, type WindowDoc } from "@iot/shared";
import { useMongo, waitFor } from "../../dev/testing.ts";
import { startWeb, type WebHandle } from "../../web/mod.ts";
import { type ClientSocket, LiveHub } from "../../web/live/hub.ts";
import { sensorFeed } from "../../web/live/sensor_feed.ts";
import { ChangeStreamSource, CollectionFeed, type FeedMode, PollingSource } from "../../web/live/source.ts";
import type { Frame } from "../../web/lib/wire.ts";
import { alertDoc, windowDoc } from "./fixtures.ts";

const logger = createLogger({ name: "test", level: "warn" });
const opts = { sanitizeOps: false, sanitizeResources: false };

interface TestClient {
  ws: WebSocket;
  frames: Frame[];
  closed: Promise<CloseEvent>;
}

async function connect(url: string, sub?: Record<string, unknown>): Promise<TestClient> {
  const ws = new WebSocket(url.replace(/^http/, "ws") + "/ws");
  const frames: Frame[] = [];
  ws.onmessage = (ev) => frames.push(JSON.parse(String(ev.data)));
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener("close", (e) => resolve(e)));
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (e) => reject(new Error(`WebSocket error: ${(e as ErrorEvent).message}`));
  });
  if (sub) ws.send(JSON.stringify({ t: "sub", ...sub }));
  return { ws, frames, closed };
}

function batches(frames: Frame[]): Extract<Frame, { t: "batch" }>[] {
  return frames.filter((f): f is Extract<Frame, { t: "batch" }> => f.t === "batch");
}

async function withWeb(liveMode: "auto" | "polling", fn: (h: WebHandle, db: import("mongodb").Db) => Promise<void>) {
  const mongo = await useMongo();
  let handle: WebHandle | undefined;
  try {
    const db = mongo.client.db(mongo.dbName);
    handle = await startWeb({
      mongoClient: mongo.client,
      dbName: mongo.dbName,
      host: "127.0.0.1",
      port: 0,
      kafka: false,
      logger,
      liveMode,
    });
    await fn(handle, db);
  } finally {
    await handle?.stop();
    await mongo.close();
  }
}

Deno.test("WebSocket: origin check, live frames from change streams, filters, garbage and floods", opts, async () => {
  await withWeb("auto", async (h, db) => {
    // A foreign origin is refused before the upgrade.
    const refused = await fetch(`${h.url}/ws`, {
      headers: {
        origin: "http://evil.example",
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    });
    assert.equal(refused.status, 403);
    assert.equal(typeof (await refused.json()).error, "string");

    const hum = await connect(h.url, { types: ["humidity"] });
    const all = await connect(h.url, {});
    await waitFor(() => hum.frames.find((f) => f.t === "hello"), { what: "hello frame" });
    await waitFor(() => h.web.hub.modes.windows === "change-stream" && h.web.hub.modes.alerts === "change-stream", {
      what: "change streams",
    });
    // Give the change streams a moment to be open on the server before inserting.
    await new Promise((r) => setTimeout(r, 300));

    const start = Math.floor(Date.now() / 10_000) * 10_000;
    await db.collection<WindowDoc>(COLLECTIONS.windows).insertMany([
      windowDoc("humidity", "office-lab", start, 51.5),
      windowDoc("temperature", "office-lab", start, 21.5),
    ]);
    await db.collection<AlertDoc>(COLLECTIONS.incidents).insertOne(alertDoc("a1", { sensor_id: "sensor_0002" }));
    await waitFor(() => batches(all.frames).flatMap((b) => b.windows ?? []).length >= 2, { what: "windows frame" });
    await waitFor(() => batches(all.frames).some((b) => b.alerts?.some((a) => a.id === "a1")), { what: "alert" });
    await waitFor(() => batches(hum.frames).some((b) => b.alerts?.length), { what: "humidity alert" });
    const humWindows = batches(hum.frames).flatMap((b) => b.windows ?? []);
    assert.deepEqual(humWindows.map((w) => w.sensor_type), ["humidity"], "per-client filter");
    assert.equal(humWindows[0].avg, 51.5);

    // An update (acknowledge) arrives as the new version of the document.
    await db.collection<AlertDoc>(COLLECTIONS.incidents).updateOne({ _id: "a1" }, {
      $set: { acknowledged: true, updated_at: new Date() },
    });
    await waitFor(() => batches(all.frames).some((b) => b.alerts?.some((a) => a.id === "a1" && a.acknowledged)), {
      what: "updated alert",
    });
    assert.equal(h.web.hub.clientCount, 2);

    // Garbage is answered with a close (policy violation).
    const bad = await connect(h.url);
    bad.ws.send("this is not json");
    assert.equal((await bad.closed).code, 1008);
    const badSub = await connect(h.url);
    badSub.ws.send(JSON.stringify({ t: "sub", types: ["<script>"] }));
    assert.equal((await badSub.closed).code, 1008);

    // Flooding is answered with a close too.
    const flood = await connect(h.url);
    for (let i = 0; i < 21; i++) flood.ws.send(JSON.stringify({ t: "sub" }));
    assert.equal((await flood.closed).code, 1008);

    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    assert.match(metrics, /web_ws_frames_sent_total \d+/);
    assert.match(metrics, /web_live_feed_mode\{collection="windowed_metrics",mode="change-stream"\} 1/);
    assert.match(metrics, /web_ws_rejected_total 1/);

    // stop() closes the remaining sockets.
    const closedAll = all.closed;
    const closedHum = hum.closed;
    await h.stop();
    assert.equal((await closedAll).code, 1001);
    await closedHum;
  });
});

Deno.test("WebSocket: the polling source delivers the same frames and reports its mode", opts, async () => {
  await withWeb("polling", async (h, db) => {
    const c = await connect(h.url, {});
    await waitFor(() => h.web.hub.modes.windows === "polling", { what: "polling mode" });
    await waitFor(() => c.frames.some((f) => f.t === "mode" && f.modes.alerts === "polling"), { what: "mode frame" });
    const health = await (await fetch(`${h.url}/healthz`)).json();
    assert.equal(health.live.alerts, "polling");
    await new Promise((r) => setTimeout(r, 50));
    await db.collection<AlertDoc>(COLLECTIONS.incidents).insertOne(alertDoc("p1", { updated_at: new Date() }));
    await waitFor(() => batches(c.frames).some((b) => b.alerts?.some((a) => a.id === "p1")), { what: "polled alert" });
    const start = Math.floor(Date.now() / 10_000) * 10_000;
    const w = windowDoc("pressure", "warehouse-east", start, 1011);
    w.updated_at = new Date();
    await db.collection<WindowDoc>(COLLECTIONS.windows).insertOne(w);
    await waitFor(() => batches(c.frames).some((b) => b.windows?.some((x) => x.avg === 1011)), { what: "window" });
    c.ws.close();
    await c.closed;
  });
});

Deno.test("a slow client gets the latest version per document, then a resync instead of a queue", opts, async () => {
  await withWeb("auto", async (h, db) => {
    const sent: string[] = [];
    const socket: ClientSocket & { bufferedAmount: number } = {
      readyState: 1,
      bufferedAmount: 10 << 20,
      send: (d) => void sent.push(d),
      close: () => {},
    };
    const handlers = h.web.hub.connect(socket);
    handlers.onMessage(JSON.stringify({ t: "sub" }));
    await waitFor(() => h.web.hub.modes.alerts === "change-stream", { what: "change stream" });
    await new Promise((r) => setTimeout(r, 300));
    const col = db.collection<AlertDoc>(COLLECTIONS.incidents);
    await col.insertOne(alertDoc("s1", { count: 1 }));
    for (let i = 2; i <= 20; i++) await col.updateOne({ _id: "s1" }, { $set: { count: i, updated_at: new Date() } });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(sent.filter((s) => JSON.parse(s).t === "batch").length, 0, "nothing sent while the socket is full");
    socket.bufferedAmount = 0;
    await waitFor(() => sent.some((s) => JSON.parse(s).t === "batch"), { what: "batch after drain" });
    const batch = sent.map((s) => JSON.parse(s)).filter((f) => f.t === "batch");
    const versions = batch.flatMap((b) => b.alerts ?? []).filter((a: { id: string }) => a.id === "s1");
    assert.ok(versions.length >= 1 && versions.length <= 2, `coalesced, got ${versions.length}`);
    assert.equal(versions.at(-1).count, 20, "the latest version");
    handlers.onClose();

    // More pending documents than the bound: the client is told to fetch a snapshot instead.
    const hub = new LiveHub({ feed: sensorFeed, db, logger, registry: new Registry(), maxPending: 5, idleStopMs: 200 });
    const sent2: string[] = [];
    const slow: ClientSocket & { bufferedAmount: number } = {
      readyState: 1,
      bufferedAmount: 10 << 20,
      send: (d) => void sent2.push(d),
      close: () => {},
    };
    try {
      const first = hub.connect(slow);
      first.onMessage(JSON.stringify({ t: "sub" }));
      await waitFor(() => hub.modes.alerts === "change-stream", { what: "change stream" });
      await new Promise((r) => setTimeout(r, 300));
      await col.insertMany(Array.from({ length: 10 }, (_, i) => alertDoc(`r${i}`)));
      await new Promise((r) => setTimeout(r, 1000));
      slow.bufferedAmount = 0;
      await waitFor(() => sent2.some((s) => JSON.parse(s).t === "resync"), { what: "resync frame" });
      const pendingAlerts = sent2.map((s) => JSON.parse(s)).flatMap((f) => f.alerts ?? []);
      assert.ok(pendingAlerts.length <= 5, `bounded, got ${pendingAlerts.length}`);

      // The feeds stop once the last client is gone, and start again with the next one.
      first.onClose();
      await waitFor(() => hub.modes.alerts === "starting", { what: "feeds stopped when idle" });
      const again = hub.connect(slow);
      await waitFor(() => hub.modes.alerts === "change-stream", { what: "feeds restarted" });
      again.onClose();
    } finally {
      await hub.stop();
    }
  });
});

Deno.test(
  "change streams resume after a restart from the kept token; failure falls back to polling",
  opts,
  async () => {
    const mongo = await useMongo();
    try {
      const db = mongo.client.db(mongo.dbName);
      const col = db.collection<Document>("resume");
      const got: string[] = [];
      const first = new ChangeStreamSource(col, { logger, idleMs: 20 });
      const abort1 = new AbortController();
      const run1 = first.run(abort1.signal, (docs) => got.push(...docs.map((d) => String(d._id))));
      await new Promise((r) => setTimeout(r, 300));
      await col.insertOne({ _id: "one" as never });
      await waitFor(() => got.includes("one"), { what: "first event" });
      abort1.abort();
      await run1;
      assert.ok(first.resumeToken, "token kept");

      // Written while no stream runs: a stream resumed from the token still sees them.
      await col.insertMany([{ _id: "two" as never }, { _id: "three" as never }]);
      const second = new ChangeStreamSource(col, { logger, idleMs: 20 });
      second.resumeToken = first.resumeToken;
      const abort2 = new AbortController();
      const run2 = second.run(abort2.signal, (docs) => got.push(...docs.map((d) => String(d._id))));
      await waitFor(() => got.includes("three"), { what: "events missed while stopped" });
      abort2.abort();
      await run2;
      assert.deepEqual(got, ["one", "two", "three"]);

      // A collection whose change stream fails (like a standalone server) is polled instead.
      const broken = new Proxy(col, {
        get(target, prop, receiver) {
          if (prop === "watch") {
            return () => ({
              tryNext: () => Promise.reject(new Error("The $changeStream stage is only supported on replica sets")),
              close: () => Promise.resolve(),
            });
          }
          const v = Reflect.get(target, prop, receiver);
          return typeof v === "function" ? v.bind(target) : v;
        },
      }) as Collection<Document>;
      const modes: FeedMode[] = [];
      const polled: string[] = [];
      const feed = new CollectionFeed({
        collection: broken,
        pollField: "updated_at",
        pollIntervalMs: 100,
        logger,
        onDocs: (docs) => polled.push(...docs.map((d) => String(d._id))),
        onMode: (m) => modes.push(m),
      });
      feed.start();
      await waitFor(() => modes.includes("polling"), { what: "fallback" });
      await col.insertOne({ _id: "four" as never, updated_at: new Date() });
      await waitFor(() => polled.includes("four"), { what: "polled document" });
      await col.updateOne({ _id: "four" as never }, { $set: { updated_at: new Date(Date.now() + 5) } });
      await waitFor(() => polled.filter((x) => x === "four").length === 2, { what: "polled update" });
      await feed.stop();
      assert.deepEqual(modes, ["change-stream", "polling"]);
    } finally {
      await mongo.close();
    }
  },
);

Deno.test(
  "a feed of one _id prefix sees only those documents, on the change stream and when polling",
  opts,
  async () => {
    const mongo = await useMongo();
    try {
      const col = mongo.client.db(mongo.dbName).collection<Document>("filtered");
      const idPrefix = "type_location|a.b";
      const streamed: string[] = [];
      const polled: string[] = [];
      const abort = new AbortController();
      const stream = new ChangeStreamSource(col, { logger, idleMs: 20, idPrefix });
      const run1 = stream.run(abort.signal, (docs) => streamed.push(...docs.map((d) => String(d._id))));
      const poll = new PollingSource(col, {
        field: "updated_at",
        intervalMs: 50,
        since: new Date(0),
        idPrefix,
        logger,
      });
      const run2 = poll.run(abort.signal, (docs) => polled.push(...docs.map((d) => String(d._id))));
      await new Promise((r) => setTimeout(r, 300));
      const at = new Date();
      // "." is a literal: "type_location|aXb|1" does not match.
      const ids = ["sensor|a.b|1", "type_location|aXb|1", "type_location|a.b|1"];
      await col.insertMany(ids.map((_id) => ({ _id: _id as never, updated_at: at })));
      for (const _id of ids) {
        await col.updateOne({ _id: _id as never }, { $set: { n: 1, updated_at: new Date(at.getTime() + 1) } });
      }
      await waitFor(() => streamed.length >= 2 && polled.length >= 1, { what: "the prefixed document's changes" });
      await new Promise((r) => setTimeout(r, 200));
      abort.abort();
      await Promise.all([run1, run2]);
      assert.deepEqual(streamed, ["type_location|a.b|1", "type_location|a.b|1"], "its insert and its update");
      assert.deepEqual([...new Set(polled)], ["type_location|a.b|1"]);
    } finally {
      await mongo.close();
    }
  },
);
