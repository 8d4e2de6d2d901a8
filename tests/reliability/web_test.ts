/**
 * Scenario 7: the dashboard.
 * - Its MongoDB connection goes through a TCP proxy that is cut for a while
 *   (all connections closed, new ones refused): the change streams break; the
 *   dashboard must stay up and resume, delivering documents written during
 *   and after the break to a connected WebSocket client.
 * - WebSocket clients sending garbage or flooding are disconnected; a
 *   well-behaved client on the same server keeps its connection and its frames.
 * - API fuzz: malformed and random query parameters get a 4xx JSON error,
 *   never a 5xx.
 */
import assert from "node:assert/strict";
import type { Db } from "mongodb";
import { COLLECTIONS, LOCATIONS, SENSOR_TYPES, type WindowDoc } from "@iot/shared";
import { TcpProxy } from "../../dev/tcp_proxy.ts";
import { useMongo, waitFor } from "../../dev/testing.ts";
import { loadWebConfig, startWeb, type WebHandle } from "../../web/mod.ts";
import { sleep, summary, TEST_OPTIONS, testLogger } from "./harness.ts";

const BREAK_MS = 8000;

interface Client {
  ws: WebSocket;
  frames: { t: string; [k: string]: unknown }[];
  closed: Promise<CloseEvent>;
  isOpen(): boolean;
}

async function connect(url: string): Promise<Client> {
  const ws = new WebSocket(url.replace(/^http/, "ws") + "/ws");
  const frames: Client["frames"] = [];
  let open = false;
  ws.onmessage = (ev) => frames.push(JSON.parse(String(ev.data)));
  const closed = new Promise<CloseEvent>((resolve) =>
    ws.addEventListener("close", (e) => {
      open = false;
      resolve(e);
    })
  );
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => {
      open = true;
      resolve();
    };
    ws.onerror = () => reject(new Error("WebSocket error"));
  });
  return { ws, frames, closed, isOpen: () => open };
}

/** Marks (`avg` values) of the windows delivered to a client in batch frames. */
function windowIds(c: Client): Set<string> {
  const ids = new Set<string>();
  for (const f of c.frames) {
    if (f.t !== "batch" || !Array.isArray(f.windows)) continue;
    for (const w of f.windows as { avg?: number }[]) ids.add(String(w.avg));
  }
  return ids;
}

/** A window document whose `avg` marks it (frames carry the values, not always the `_id`). */
function markedWindow(mark: number): WindowDoc {
  const start = Math.floor(Date.now() / 10_000) * 10_000;
  const type = "humidity";
  const location = LOCATIONS[mark % LOCATIONS.length];
  const at = new Date();
  return {
    _id: `type_location|${type}/${location}|${start}|10`,
    kind: "type_location",
    group: `${type}/${location}`,
    sensor_type: type,
    location,
    window_start: new Date(start),
    window_end: new Date(start + 10_000),
    size_s: 10,
    count: 1,
    sum: mark,
    min: mark,
    max: mark,
    avg: mark,
    stddev: 0,
    last: mark,
    first_event_time: at,
    last_event_time: at,
    anomalies: 0,
    final: false,
    updated_at: at,
  };
}

async function startDashboard(mongoUrl: string, dbName: string): Promise<WebHandle> {
  const config = loadWebConfig({ MONGO_URL: mongoUrl, MONGO_DB: dbName, WEB_HOST: "127.0.0.1", WEB_PORT: "0" });
  return await startWeb({ config, host: "127.0.0.1", port: 0, kafka: false, logger: testLogger, prebuild: false });
}

async function insertWindow(db: Db, mark: number): Promise<void> {
  await db.collection<WindowDoc>(COLLECTIONS.windows).insertOne(markedWindow(mark));
}

Deno.test(
  "7a. dashboard survives its change streams breaking and resumes; bad WebSocket clients are cut alone",
  TEST_OPTIONS,
  async () => {
    const mongo = await useMongo();
    const proxy = new TcpProxy({ targetPort: mongo.local!.port });
    const db = mongo.client.db(mongo.dbName);
    let web: WebHandle | undefined;
    try {
      web = await startDashboard(`mongodb://127.0.0.1:${proxy.port}/?directConnection=true`, mongo.dbName);
      const handle = web;
      const good = await connect(handle.url);
      good.ws.send(JSON.stringify({ t: "sub" }));
      await waitFor(() => handle.web.hub.modes.windows === "change-stream", { what: "windows change stream" });
      await sleep(300);
      await insertWindow(db, 11);
      await waitFor(() => windowIds(good).has("11"), { what: "a window before the break" });

      // Break every connection of the dashboard to MongoDB; write meanwhile (directly, not through the proxy).
      proxy.block();
      await sleep(1000);
      await insertWindow(db, 22);
      const healthDuring = await fetch(`${handle.url}/healthz`, { signal: AbortSignal.timeout(15_000) })
        .then((r) => r.status).catch(() => 0);
      await sleep(BREAK_MS - 1000);
      proxy.unblock();
      await insertWindow(db, 33);
      await waitFor(() => windowIds(good).has("33"), { timeoutMs: 60_000, what: "a window after the break" });
      const gotDuring = windowIds(good).has("22") || good.frames.some((f) => f.t === "resync");
      const healthAfter = await waitFor(async () => {
        const r = await fetch(`${handle.url}/healthz`);
        await r.body?.cancel();
        return r.status === 200 ? r.status : false;
      }, { timeoutMs: 30_000, what: "/healthz ok again" });

      // Misbehaving clients are disconnected; the good one is not.
      const garbage = await connect(handle.url);
      garbage.ws.send("\u0000\u0001 not json {{{");
      const badSub = await connect(handle.url);
      badSub.ws.send(JSON.stringify({ t: "sub", types: [{ $ne: 1 }], locations: "x".repeat(5000) }));
      const flood = await connect(handle.url);
      for (let i = 0; i < 200; i++) flood.ws.send(JSON.stringify({ t: "sub", types: [SENSOR_TYPES[i % 6]] }));
      const codes = await Promise.all([garbage.closed, badSub.closed, flood.closed].map((p) => p.then((e) => e.code)));
      await insertWindow(db, 44);
      await waitFor(() => windowIds(good).has("44"), { what: "a window after the bad clients" });

      summary("7a-web-change-stream-break", {
        faults: { mongo_connection_cut_ms: BREAK_MS, bad_ws_clients: 3 },
        healthDuring,
        healthAfter,
        deliveredWrittenDuringBreak: windowIds(good).has("22"),
        resyncFrames: good.frames.filter((f) => f.t === "resync").length,
        badClientCloseCodes: codes,
        goodClientOpen: good.isOpen(),
      });
      assert.ok(gotDuring, "the document written during the break was delivered (or a resync was requested)");
      assert.deepEqual(codes.slice(0, 2), [1008, 1008], "garbage and a malformed subscription are closed (1008)");
      // The flooding client is disconnected (it may see a reset rather than the 1008 frame while still sending).
      assert.ok(!flood.isOpen(), "the flooding client is disconnected");
      assert.ok(good.isOpen(), "the well-behaved client is still connected");
      assert.equal(healthAfter, 200);
      good.ws.close();
      await good.closed;
    } finally {
      await web?.stop().catch(() => {});
      await proxy.close();
      await mongo.close();
    }
  },
);

/** Deterministic pseudo-random numbers (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY = [
  "",
  " ",
  "-1",
  "0",
  "1e309",
  "NaN",
  "Infinity",
  "-0",
  "0x10",
  "9".repeat(400),
  "null",
  "undefined",
  "true",
  "[]",
  "{}",
  '{"$ne":null}',
  "$where",
  "../../etc/passwd",
  "%00",
  "\u0000",
  "😀",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  "2026-13-45T99:99:99Z",
  "1970-01-01T00:00:00Z",
  "99999999999999999",
  "sensor_",
  "sensor_0001/../x",
  "humidity,temperature",
];

/** Query values as sent: the nasty strings encoded, plus broken percent-encodings and invalid UTF-8. */
const VALUES = [...NASTY.map(encodeURIComponent), "%FF", "%E0%80", "%", "%zz", "%ED%A0%80", "%C3%28"];

const ENDPOINTS: { path: string; params: string[] }[] = [
  { path: "/api/windows", params: ["kind", "size", "type", "location", "sensor", "since", "limit"] },
  {
    path: "/api/alerts",
    params: ["state", "severity", "acknowledged", "type", "location", "sensor", "since", "limit"],
  },
  { path: "/api/sensors/sensor_0001", params: ["limit", "since"] },
  { path: "/api/overview", params: ["type", "location"] },
  { path: "/api/tiles", params: ["type", "location"] },
  { path: "/api/pipeline", params: [] },
];

Deno.test("7b. API fuzz: malformed query parameters get a 4xx JSON error, never a 5xx", TEST_OPTIONS, async () => {
  const mongo = await useMongo();
  let web: WebHandle | undefined;
  try {
    web = await startDashboard(mongo.url, mongo.dbName);
    const rand = prng(707);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const urls: { url: string; mustFail: boolean }[] = [];
    for (const e of ENDPOINTS) {
      // Every known parameter with every nasty value, an unknown parameter, and a repeated one.
      for (const p of e.params) {
        for (const v of VALUES) urls.push({ url: `${e.path}?${encodeURIComponent(p)}=${v}`, mustFail: false });
        urls.push({ url: `${e.path}?${p}=1&${p}=2`, mustFail: true });
      }
      urls.push({ url: `${e.path}?bogus=1`, mustFail: true });
      urls.push({ url: `${e.path}?${encodeURIComponent("type[$ne]")}=x`, mustFail: true });
      // Random combinations.
      for (let i = 0; i < 40; i++) {
        const n = 1 + Math.floor(rand() * 3);
        const q: string[] = [];
        for (let k = 0; k < n; k++) {
          const name = e.params.length && rand() < 0.85 ? pick(e.params) : pick(["x", "$gt", "__proto__", "a[b]"]);
          const value = rand() < 0.5 ? pick(VALUES) : String(Math.floor(rand() * 1e6) - 1000);
          q.push(`${encodeURIComponent(name)}=${value}`);
        }
        urls.push({ url: `${e.path}?${q.join("&")}`, mustFail: false });
      }
    }
    // Path parameters.
    for (
      const id of [
        "x",
        "sensor_1",
        "sensor_" + "1".repeat(50),
        "..%2F..%2Fetc",
        "%00",
        "sensor_0001%20",
        "%F0%9F%98%80",
      ]
    ) {
      urls.push({ url: `/api/sensors/${id}`, mustFail: true });
    }

    const statuses: Record<string, number> = {};
    const serverErrors: string[] = [];
    const notJson: string[] = [];
    const acceptedBad: string[] = [];
    for (const { url, mustFail } of urls) {
      const res = await fetch(`${web.url}${url}`);
      const text = await res.text();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status >= 500) serverErrors.push(`${res.status} ${url}`);
      if (res.status >= 400) {
        try {
          if (typeof JSON.parse(text).error !== "string") notJson.push(url);
        } catch {
          notJson.push(url);
        }
      } else if (mustFail) acceptedBad.push(url);
    }
    // The acknowledge endpoint with odd ids.
    for (const id of ["%00", "x".repeat(300), "%F0%9F%98%80", "..%2F"]) {
      const res = await fetch(`${web.url}/api/alerts/${id}/ack`, { method: "POST", headers: { origin: web.url } });
      await res.body?.cancel();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status >= 500) serverErrors.push(`${res.status} POST /api/alerts/${id}/ack`);
    }
    const health = await fetch(`${web.url}/healthz`);
    await health.body?.cancel();

    summary("7b-web-api-fuzz", {
      records: urls.length + 4,
      faults: { fuzz_requests: urls.length + 4 },
      statuses,
      serverErrors: serverErrors.length,
    });
    assert.deepEqual(serverErrors, [], "no 5xx");
    assert.deepEqual(notJson, [], "every error is a JSON object with an error message");
    assert.deepEqual(acceptedBad, [], "repeated, unknown and operator-like parameters are refused");
    assert.equal(health.status, 200, "the dashboard is healthy after the fuzz");
  } finally {
    await web?.stop().catch(() => {});
    await mongo.close();
  }
});
