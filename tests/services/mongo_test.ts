/**
 * Spike: the mongodb driver under Deno against the MongoDB-protocol server —
 * unordered bulk upserts (idempotent on replay) and a change-stream event.
 */
import assert from "node:assert/strict";
import { COLLECTIONS, ensureSchema, indexSpecs } from "@iot/shared";
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
    const names = (await db.collection(COLLECTIONS.alerts).indexes()).map((i) => i.name);
    for (const spec of indexSpecs()[COLLECTIONS.alerts]) assert.ok(names.includes(spec.name), spec.name);
  } finally {
    await mongo.close();
  }
});

Deno.test("the stand-in's oplog is trimmed to its retention and change streams keep working", opts, async () => {
  const { LocalMongo } = await import("../../dev/mongo.ts");
  const { MongoClient } = await import("mongodb");
  const messages: string[] = [];
  const local = new LocalMongo({ engine: "java", oplogRetentionSeconds: 1, log: (m) => messages.push(m) });
  await local.start();
  const client = new MongoClient(local.url);
  try {
    assert.match(messages.join("\n"), /never trims its oplog/);
    const col = client.db("t").collection("c");
    await col.insertMany(Array.from({ length: 500 }, (_, i) => ({ i })));
    const oplog = client.db("local").collection("oplog.rs");
    assert.ok((await oplog.countDocuments()) >= 500);
    await waitFor(async () => (await oplog.countDocuments()) === 0, { timeoutMs: 20_000, what: "trimmed oplog" });
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
