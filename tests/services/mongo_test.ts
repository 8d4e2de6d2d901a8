/**
 * Spike: the mongodb driver under Deno against the MongoDB-protocol server —
 * unordered bulk upserts (idempotent on replay) and a change-stream event;
 * and the stand-in's bounds: oplog trim, raw retention, cheap change streams,
 * quiet expected errors, raw readings kept as BSON bytes.
 */
import assert from "node:assert/strict";
import {
  Binary,
  type ChangeStream,
  type ChangeStreamDocument,
  Decimal128,
  type Document,
  type Filter,
  Long,
  MongoClient,
  ObjectId,
} from "mongodb";
import { COLLECTIONS, ensureSchema, indexSpecs } from "@iot/shared";
import { LocalMongo } from "../../dev/mongo.ts";
import { useMongo, waitFor } from "../../dev/testing.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("bulk upserts are idempotent and a change stream sees inserts and updates", opts, async () => {
  const mongo = await useMongo();
  try {
    const db = mongo.client.db(mongo.dbName);
    const report = await ensureSchema(db);
    assert.ok(report.created.includes(COLLECTIONS.readings));
    const again = await ensureSchema(db);
    assert.deepEqual(again.created, [], "second run creates nothing");

    const col = db.collection<{ _id: string; v: number; n?: number }>("spike");
    const stream = col.watch([{ $match: { operationType: { $in: ["insert", "update", "replace"] } } }], {
      fullDocument: "updateLookup",
    });
    const events: { op: string; id: string; v: number }[] = [];
    const reading = (async () => {
      while (!stream.closed) {
        const ev = await stream.tryNext().catch(() => null);
        if (ev && "fullDocument" in ev && ev.fullDocument) {
          events.push({ op: ev.operationType, id: String(ev.fullDocument._id), v: ev.fullDocument.v });
        } else if (!ev) await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const ops = Array.from({ length: 1000 }, (_, i) => ({
      updateOne: { filter: { _id: `r${i}` }, update: { $setOnInsert: { v: i } }, upsert: true },
    }));
    const r1 = await col.bulkWrite(ops, { ordered: false });
    assert.equal(r1.upsertedCount, 1000);
    const r2 = await col.bulkWrite(ops, { ordered: false });
    assert.equal(r2.upsertedCount, 0, "replay inserts nothing");
    assert.equal(await col.countDocuments(), 1000);

    await col.updateOne({ _id: "r5" }, { $set: { v: 500 } });
    await waitFor(() => events.some((e) => e.id === "r5" && e.v === 500), { what: "update event", timeoutMs: 10_000 });
    assert.ok(events.filter((e) => e.op === "insert").length >= 1000);
    await stream.close();
    await reading;

    // The indexes the processor relies on exist.
    const names = (await db.collection(COLLECTIONS.incidents).indexes()).map((i) => i.name);
    for (const spec of indexSpecs()[COLLECTIONS.incidents]) assert.ok(names.includes(spec.name), spec.name);
  } finally {
    await mongo.close();
  }
});

Deno.test("the stand-in's oplog is trimmed to its retention and change streams keep working", opts, async () => {
  const messages: string[] = [];
  const local = new LocalMongo({ engine: "java", oplogRetentionSeconds: 1, log: (m) => messages.push(m) });
  await local.start();
  const client = new MongoClient(local.url);
  try {
    assert.match(messages.join("\n"), /never trims its oplog/);
    const col = client.db("t").collection("c");
    // Only watched collections are recorded: open a stream first.
    const first = col.watch();
    await first.tryNext();
    await col.insertMany(Array.from({ length: 500 }, (_, i) => ({ i })));
    assert.ok((await local.oplogStats()).entries >= 500);
    await waitFor(async () => (await local.oplogStats()).entries === 0, { timeoutMs: 20_000, what: "trimmed oplog" });
    await first.close();
    const stream = col.watch();
    await stream.tryNext();
    await col.insertOne({ after: true });
    const ev = await waitFor(async () => (await stream.tryNext()) ?? undefined, {
      timeoutMs: 5000,
      what: "change event",
    });
    assert.equal(ev.operationType, "insert");
    await stream.close();
  } finally {
    await client.close(true);
    await local.dispose();
  }
});

/** Reads change events until `n` arrived (tryNext with a short sleep, as the dashboard does). */
async function nextEvents(stream: ChangeStream, n: number): Promise<ChangeStreamDocument[]> {
  const events: ChangeStreamDocument[] = [];
  await waitFor(async () => {
    let ev = await stream.tryNext();
    while (ev) {
      events.push(ev);
      ev = events.length < n ? await stream.tryNext() : null;
    }
    return events.length >= n;
  }, { timeoutMs: 20_000, intervalMs: 20, what: `${n} change events` });
  return events;
}

Deno.test("a change stream's batches read only new entries, however large the oplog", opts, async () => {
  const local = new LocalMongo({ engine: "java", heap: "1g" });
  await local.start();
  const client = new MongoClient(local.url);
  try {
    const db = client.db("cost");
    const watched = db.collection<{ _id: string; v: number }>("watched");
    const busy = db.collection("busy"); // watched by another stream: recorded in the oplog
    const unwatched = db.collection("unwatched"); // watched by nobody: not recorded
    const busyStream = busy.watch();
    await busyStream.tryNext();

    /** Opens a stream on `watched`, makes 20 changes (10 inserts, 10 updates) and returns the oplog's counters. */
    const measure = async (round: number) => {
      const stream = watched.watch([], { fullDocument: "updateLookup" });
      await stream.tryNext();
      await local.oplogStats(true);
      const ids = Array.from({ length: 10 }, (_, i) => `r${round}-${i}`);
      await watched.insertMany(ids.map((_id) => ({ _id, v: 0 })));
      for (const _id of ids) await watched.updateOne({ _id }, { $set: { v: 1 } });
      const events = await nextEvents(stream, 20);
      const stats = await local.oplogStats();
      await stream.close();
      assert.deepEqual(events.map((e) => e.operationType), [...ids.map(() => "insert"), ...ids.map(() => "update")]);
      for (const e of events.slice(10)) {
        assert.equal((e as { fullDocument?: { v: number } }).fullDocument?.v, 1, "updateLookup finds the document");
      }
      return stats;
    };

    const small = await measure(0);
    const batch = Array.from({ length: 1000 }, (_, i) => ({ i, pad: "x".repeat(50) }));
    for (let k = 0; k < 100; k++) {
      await busy.insertMany(batch.map((d) => ({ ...d })));
      await unwatched.insertMany(batch.map((d) => ({ ...d })));
    }
    // Earlier entries of the watched collection itself lie before the new stream's position.
    await watched.insertMany(Array.from({ length: 5000 }, (_, i) => ({ _id: `old-${i}`, v: 0 })));
    const large = await measure(1);

    assert.ok(large.entries >= 105_000, `the oplog holds the busy collection's entries (${large.entries})`);
    assert.ok(!large.namespaces.includes("cost.unwatched"), "an unwatched collection is not recorded");
    for (const s of [small, large]) {
      assert.ok(s.scanned <= 20, `entries read for 20 events: ${s.scanned}`);
      assert.ok(s.maxScannedPerBatch <= 20);
      assert.equal(s.lookups, 10);
    }
    await busyStream.close();
  } finally {
    await client.close(true);
    await local.dispose();
  }
});

Deno.test("updateLookup reads only the events that pass a leading $match on the key", opts, async () => {
  const local = new LocalMongo({ engine: "java" });
  await local.start();
  const client = new MongoClient(local.url);
  try {
    const col = client.db("prefilter").collection<{ _id: string; tag: string; v: number }>("windows");
    const byKey = col.watch([{
      $match: { operationType: { $in: ["insert", "update"] }, "documentKey._id": { $regex: "^a\\|" } },
    }], { fullDocument: "updateLookup" });
    const byDocument = col.watch([{ $match: { "fullDocument.tag": "a" } }], { fullDocument: "updateLookup" });
    await byKey.tryNext();
    await byDocument.tryNext();
    await local.oplogStats(true);
    const ids = [..."0123456789"].flatMap((i) => [`a|${i}`, `b|${i}`]);
    await col.insertMany(ids.map((_id) => ({ _id, tag: _id[0], v: 0 })));
    for (const _id of ids) await col.updateOne({ _id }, { $set: { v: 1 } });
    const [keyed, documented] = [await nextEvents(byKey, 20), await nextEvents(byDocument, 20)];
    const stats = await local.oplogStats();
    await Promise.all([byKey.close(), byDocument.close()]);
    for (const events of [keyed, documented]) {
      const seen = events.map((e) =>
        `${e.operationType} ${(e as { documentKey?: { _id: unknown } }).documentKey?._id}`
      );
      const a = ids.filter((id) => id.startsWith("a|"));
      assert.deepEqual(seen, [...a.map((id) => `insert ${id}`), ...a.map((id) => `update ${id}`)]);
      for (const e of events.slice(10)) assert.equal((e as { fullDocument?: { v: number } }).fullDocument?.v, 1);
    }
    // The key match needs no lookup for the 10 b updates; the fullDocument match needs all 20.
    assert.equal(stats.lookups, 10 + 20);
  } finally {
    await client.close(true);
    await local.dispose();
  }
});

Deno.test("change events carry each write as it was made, whatever happened to the document since", opts, async () => {
  const local = new LocalMongo({ engine: "java" });
  await local.start();
  const client = new MongoClient(local.url);
  try {
    const col = client.db("bodies").collection<{ _id: string }>("docs");
    const plain = col.watch(); // update events: the update's $set and $unset fields
    const lookup = col.watch([], { fullDocument: "updateLookup" });
    await plain.tryNext();
    await lookup.tryNext();
    const at = new Date("2026-12-02T10:00:00.500Z");
    const doc = {
      _id: "d1",
      n: 1,
      x: 2.5,
      big: 2 ** 40,
      s: "é|x",
      at,
      tags: ["a", "b"],
      meta: { unit: "°C", deep: { ok: true, none: null } },
    };
    await col.insertOne(doc);
    await col.updateOne({ _id: "d1" }, { $set: { n: 2, "meta.unit": "K" }, $unset: { tags: "" } });
    await col.deleteOne({ _id: "d1" });
    const [p, l] = [await nextEvents(plain, 3), await nextEvents(lookup, 3)];
    await Promise.all([plain.close(), lookup.close()]);
    for (const events of [p, l]) {
      assert.deepEqual(events.map((e) => e.operationType), ["insert", "update", "delete"]);
      // The insert as inserted, not as the document became later.
      assert.deepEqual((events[0] as { fullDocument?: unknown }).fullDocument, doc);
      assert.deepEqual((events[2] as { documentKey?: unknown }).documentKey, { _id: "d1" });
    }
    // With a lookup, once the document is gone: null, as MongoDB answers (not the update's fields as a document).
    assert.equal((l[1] as { fullDocument?: unknown }).fullDocument, null);
    // Without a lookup: the fields the update set or unset.
    assert.deepEqual((p[1] as { fullDocument?: unknown }).fullDocument, { n: 2, "meta.unit": "K", tags: "" });
  } finally {
    await client.close(true);
    await local.dispose();
  }
});

Deno.test("the stand-in deletes raw readings older than its raw retention, in every database", opts, async () => {
  const messages: string[] = [];
  const local = new LocalMongo({ engine: "java", rawRetentionSeconds: 60, log: (m) => messages.push(m) });
  await local.start();
  const client = new MongoClient(local.url);
  try {
    assert.match(messages.join("\n"), /keeps raw readings \(sensor_metrics\) for 60 s/);
    const old = new Date(Date.now() - 3_600_000);
    for (const name of ["a", "b"]) {
      await client.db(name).collection(COLLECTIONS.readings).insertMany([
        { _id: "old", timestamp: old },
        { _id: "new", timestamp: new Date() },
      ] as never[]);
      await client.db(name).collection("other").insertOne({ timestamp: old });
    }
    for (const name of ["a", "b"]) {
      const raw = client.db(name).collection(COLLECTIONS.readings);
      await waitFor(async () => (await raw.countDocuments()) === 1, { timeoutMs: 25_000, what: `trimmed ${name}` });
      assert.deepEqual((await raw.find().toArray()).map((d) => d._id), ["new"]);
      assert.equal(await client.db(name).collection("other").countDocuments(), 1, "other collections are kept");
    }
  } finally {
    await client.close(true);
    await local.dispose();
  }
});

Deno.test("expected errors such as an existing collection print no stack trace", opts, async () => {
  const lines: string[] = [];
  const local = new LocalMongo({ engine: "java", onLine: (l) => lines.push(l) });
  await local.start();
  const client = new MongoClient(local.url);
  try {
    const db = client.db("quiet");
    await db.createCollection("c");
    await assert.rejects(db.createCollection("c"), (e: Error & { code?: number }) => {
      assert.equal(e.code, 48, "NamespaceExists reaches the client as before");
      return /already exists/.test(e.message);
    });
    await db.collection("c").createIndex({ k: 1 }, { unique: true });
    await db.collection("c").insertOne({ k: 1 });
    await assert.rejects(db.collection("c").insertOne({ k: 1 }), /duplicate key/);
    await client.close(true);
    await local.stop();
    const noise = lines.filter((l) => /Exception|^\s+at |ERROR|WARN/.test(l));
    assert.deepEqual(noise, [], "nothing logged for expected conditions at start, use and stop");
  } finally {
    await client.close(true).catch(() => {});
    await local.dispose();
  }
});

interface Raw extends Document {
  _id: string;
  tags?: string[];
}

Deno.test("raw readings kept as BSON bytes answer as the library's memory collections do", opts, async () => {
  const messages: string[] = [];
  const local = new LocalMongo({ engine: "java", onLine: (l) => messages.push(l) });
  await local.start();
  const client = new MongoClient(local.url);
  try {
    assert.match(messages.join("\n"), new RegExp(`kept as BSON bytes: ${COLLECTIONS.readings}\\b`));
    const db = client.db("compact");
    // The same writes to the compact collection and to one of the library's own memory collections.
    const compact = db.collection<Raw>(COLLECTIONS.readings, { promoteLongs: false });
    const plain = db.collection<Raw>("plain", { promoteLongs: false });
    const at = (second: number) => new Date(Date.UTC(2026, 11, 3, 10, 0, second));
    const docs = Array.from({ length: 60 }, (_, i) => ({
      _id: `s${i % 6}:${i}`,
      sensor_id: `s${i % 6}`,
      value: i % 7 === 0 ? Long.fromNumber(2 ** 40 + i) : i * 1.5,
      timestamp: at(i),
      tags: i % 2 ? ["even", `t${i % 4}`] : [],
      points: [{ k: i % 3 }, { k: 10 + i }],
      metadata: i % 5 ? { unit: "°C", firmware: { v: i } } : { unit: null },
      flag: i % 3 === 0,
      none: null,
      oid: new ObjectId(i.toString(16).padStart(24, "0")),
      bin: new Binary(new Uint8Array([i, 0, 255])),
      dec: Decimal128.fromString(`${i}.25`),
      text: "é|x\u0000y".repeat(i % 3),
    }));
    // Fields of other types than the quick tests expect: an array of strings, an array of dates, a number, a string.
    const odd = [
      { _id: "odd:1", sensor_id: ["s1", "x"], timestamp: [at(12)] },
      { _id: "odd:2", sensor_id: 7, timestamp: at(12).toISOString() },
    ];
    for (const col of [compact, plain]) await col.insertMany([...docs, ...odd]);

    const filters: Filter<Raw>[] = [
      {},
      { sensor_id: "s2" },
      { "metadata.unit": { $type: "string" } },
      { "metadata.firmware.v": { $gte: 40 } },
      { "points.k": 2 },
      { tags: "t3" },
      { tags: { $size: 0 } },
      { none: null, flag: true },
      { missing: { $exists: false }, value: { $gt: 80 } },
      { $or: [{ sensor_id: "s1" }, { value: { $lt: 3 } }] },
      { $and: [{ sensor_id: "s4" }, { $nor: [{ flag: true }] }] },
      { $expr: { $gt: ["$value", 60] } },
      { bin: new Binary(new Uint8Array([7, 0, 255])) },
      { text: { $regex: "^é" } },
      { timestamp: { $lt: at(20) } },
      { timestamp: { $gte: at(10), $lt: at(30) } },
      { timestamp: { $gt: at(5), $lte: at(40), $lt: at(45) }, sensor_id: "s1" },
      { sensor_id: "s1", "metadata.unit": { $type: "string" } },
      { sensor_id: { $in: ["s1", "s2"] }, timestamp: { $ne: at(8) } },
      { sensor_id: "x" },
      { sensor_id: 7 },
    ];
    const read = (col: typeof compact, f: Filter<Raw>) =>
      Promise.all([
        col.find(f).sort({ _id: 1 }).toArray(),
        col.find(f).sort({ timestamp: -1 }).skip(1).limit(3).project({ value: 1, "metadata.unit": 1 }).toArray(),
        col.find(f, { sort: { $natural: -1 }, limit: 2 }).toArray(),
        col.countDocuments(f),
        col.distinct("sensor_id", f),
      ]);
    const check = async (what: string) => {
      for (const f of filters) {
        const [a, b] = await Promise.all([read(compact, f), read(plain, f)]);
        assert.deepEqual(a, b, `${what}: ${JSON.stringify(f)}`);
      }
      return (await compact.find({}).sort({ _id: 1 }).toArray());
    };
    assert.deepEqual(await check("as inserted"), [...docs, ...odd].sort((x, y) => x._id < y._id ? -1 : 1));
    assert.equal((await compact.find({ sensor_id: "s2" }).toArray()).length, 10, "a filter matches");

    for (const col of [compact, plain]) {
      await col.updateOne({ _id: "s1:1" }, { $set: { "metadata.unit": "K", extra: [1, 2] }, $unset: { tags: "" } });
      await col.updateMany({ sensor_id: "s3" }, { $inc: { value: 1000 } });
      await col.replaceOne({ _id: "s4:4" }, { sensor_id: "s4", value: -1, timestamp: new Date(0) });
      await col.findOneAndUpdate({ _id: "s5:5" }, { $set: { "points.1.k": -5, flag: "changed" } });
      await col.updateOne({ _id: "new:1" }, { $setOnInsert: { sensor_id: "s9", value: 7 } }, { upsert: true });
      await col.deleteMany({
        timestamp: { $lt: new Date(Date.UTC(2026, 11, 3, 10, 0, 20)) },
        sensor_id: { $ne: "s4" },
      });
      // Positions freed by the deletes are taken again.
      await col.insertMany([{ _id: "again:1", sensor_id: "s1", value: 1 }, { _id: "again:2", sensor_id: "s2" }]);
      await assert.rejects(col.insertOne({ _id: "s2:20" }), /duplicate key/i, "the _id stays unique");
    }
    const after = await check("after changes");
    const byId = new Map(after.map((d) => [d._id, d]));
    // 18 deleted (odd:1's timestamps include an earlier one; odd:2's is a string, which no date range matches).
    assert.equal(after.length, 62 - 18 + 3, "18 deleted, 1 upserted, 2 inserted");
    assert.equal(byId.get("s1:1"), undefined, "deleted");
    assert.equal(byId.get("s3:27")?.value, 27 * 1.5 + 1000);
    assert.deepEqual(byId.get("s4:4"), { _id: "s4:4", sensor_id: "s4", value: -1, timestamp: new Date(0) });
    assert.deepEqual(byId.get("new:1"), { _id: "new:1", sensor_id: "s9", value: 7 });
    assert.deepEqual((await compact.findOne({ _id: "s5:23" }))?.tags, ["even", "t3"]);
    await compact.updateOne({ _id: "s5:23" }, { $set: { "metadata.unit": "K" }, $unset: { tags: "" } });
    const changed = await compact.findOne({ _id: "s5:23" });
    assert.deepEqual(changed?.metadata, { unit: "K", firmware: { v: 23 } });
    assert.equal("tags" in (changed ?? {}), false);
    assert.equal(await compact.estimatedDocumentCount(), 47);
  } finally {
    await client.close(true);
    await local.dispose();
  }
});
