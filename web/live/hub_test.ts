/**
 * The generic hub without services: a fake collection whose change stream is
 * unsupported, so the feed polls it; documents reach subscribers filtered,
 * coalesced to the latest version, and a malformed message closes the socket.
 */
import assert from "node:assert/strict";
import type { Collection, Db, Document } from "mongodb";
import { createLogger } from "@iot/shared";
import { type ClientSocket, type HubFeed, LiveHub } from "./hub.ts";

const logger = createLogger({ name: "test", level: "error" });

function fakeDb(docs: Document[]): Db {
  const collection = {
    collectionName: "things",
    watch: () => ({
      tryNext: () => Promise.reject(new Error("The $changeStream stage is only supported on replica sets")),
      close: () => Promise.resolve(),
    }),
    find: (q: Record<string, { $gte: Date }>) => {
      const since = q.updated_at.$gte.getTime();
      const found = docs.filter((d) => d.updated_at.getTime() >= since);
      const cursor = { sort: () => cursor, limit: () => cursor, toArray: () => Promise.resolve(found) };
      return cursor;
    },
  } as unknown as Collection;
  return { collection: () => collection } as unknown as Db;
}

interface Sub {
  color?: string;
}

const feed: HubFeed<Sub> = {
  collections: [{ key: "things", collection: "things", pollField: "updated_at" }],
  parse: (data) => {
    try {
      return { ok: true, subscription: JSON.parse(String(data)) };
    } catch {
      return { ok: false, reason: "Malformed message" };
    }
  },
  toWire: (_key, doc) => doc.skip ? undefined : { id: String(doc._id), color: doc.color, v: doc.v } as never,
  matches: (_key, item, sub) => !sub.color || (item as unknown as { color: string }).color === sub.color,
  hello: (modes, now) => ({ t: "hello", modes, now }),
  modeFrame: (modes) => ({ t: "mode", modes }),
};

function socket(): ClientSocket & { bufferedAmount: number; sent: Record<string, unknown>[]; closedWith?: number } {
  const s = {
    readyState: 1,
    bufferedAmount: 0,
    sent: [] as Record<string, unknown>[],
    closedWith: undefined as number | undefined,
    send: (d: string) => void s.sent.push(JSON.parse(d)),
    close: (code?: number) => void (s.closedWith = code),
  };
  return s;
}

async function until<T>(fn: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

Deno.test("LiveHub: polled documents reach matching subscribers, latest version only; bad messages close", async () => {
  const docs: Document[] = [];
  const hub = new LiveHub({ feed, db: fakeDb(docs), logger, prefer: "auto", pollIntervalMs: 10, flushMs: 20 });
  const red = socket();
  const all = socket();
  const silent = socket();
  try {
    const r = hub.connect(red);
    const a = hub.connect(all);
    hub.connect(silent); // never subscribes: receives nothing but hello and modes
    r.onMessage(JSON.stringify({ color: "red" }));
    a.onMessage(JSON.stringify({}));
    assert.ok(red.sent.some((f) => f.t === "hello"), "hello on connect");
    await until(() => hub.modes.things === "polling", "polling mode");
    await until(() => all.sent.some((f) => f.t === "mode"), "mode frame");
    // Nothing is due until the documents are there: hold flushes while the socket is "full".
    red.bufferedAmount = all.bufferedAmount = 10 << 20;
    const t = new Date(Date.now() + 50);
    docs.push({ _id: "1", color: "red", v: 1, updated_at: t }, { _id: "2", color: "blue", v: 1, updated_at: t });
    await new Promise((r) => setTimeout(r, 100));
    docs[0] = { ...docs[0], v: 2, updated_at: new Date(t.getTime() + 1) };
    docs.push({ _id: "3", skip: true, updated_at: new Date(t.getTime() + 1) });
    await new Promise((r) => setTimeout(r, 100));
    red.bufferedAmount = all.bufferedAmount = 0;
    const batches = (s: typeof red) => s.sent.filter((f) => f.t === "batch").flatMap((f) => f.things as never[]);
    await until(() => batches(all).length >= 2, "batch for all");
    await until(() => batches(red).length >= 1, "batch for red");
    assert.deepEqual(batches(red), [{ id: "1", color: "red", v: 2 }], "filtered and coalesced");
    assert.deepEqual(
      batches(all).map((x: { id: string; v: number }) => `${x.id}:${x.v}`).sort(),
      ["1:2", "2:1"],
    );
    assert.deepEqual(silent.sent.map((f) => f.t).filter((t) => t === "batch"), []);
    r.onMessage("not json");
    assert.equal(red.closedWith, 1008);
    assert.equal(hub.clientCount, 2);
  } finally {
    await hub.stop();
  }
  assert.equal(all.closedWith, 1001);
});

Deno.test("LiveHub: a conditional feed runs only while a subscription wants it, with its key prefix", async () => {
  const watched: { name: string; pipeline: Document[] }[] = [];
  const closed: string[] = [];
  const db = {
    collection: (name: string) => ({
      collectionName: name,
      watch: (pipeline: Document[]) => {
        watched.push({ name, pipeline });
        return { tryNext: () => Promise.resolve(null), close: () => Promise.resolve(void closed.push(name)) };
      },
    }),
  } as unknown as Db;
  const conditional: HubFeed<Sub> = {
    ...feed,
    collections: [
      { key: "things", collection: "all", pollField: "updated_at" },
      {
        key: "things",
        collection: "red",
        pollField: "updated_at",
        idPrefix: "red|",
        wanted: (s) => s.color === "red",
      },
    ],
  };
  const hub = new LiveHub({ feed: conditional, db, logger, flushMs: 10 });
  const tick = () => new Promise((r) => setTimeout(r, 30));
  try {
    const client = hub.connect(socket());
    await tick();
    assert.deepEqual(watched.map((w) => w.name), ["all"], "without a subscription, only the unconditional feed");
    client.onMessage(JSON.stringify({ color: "red" }));
    await tick();
    assert.deepEqual(watched.map((w) => w.name), ["all", "red"]);
    assert.deepEqual(
      watched[1].pipeline[0].$match["documentKey._id"],
      /^red\|/,
      "the stream matches the key, so the server need not look the others up",
    );
    client.onMessage(JSON.stringify({ color: "red" }));
    await tick();
    assert.equal(watched.length, 2, "a subscription that still wants it does not reopen it");
    client.onMessage(JSON.stringify({ color: "blue" }));
    await tick();
    assert.deepEqual([...new Set(closed)], ["red"], "no subscription wants it any more: its stream is closed");
  } finally {
    await hub.stop();
  }
});
