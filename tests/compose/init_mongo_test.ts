/**
 * init-mongo.js (run by mongosh in the compose stack) must create exactly the
 * indexes the processor expects (`shared/mongo_schema.ts`), and those must be
 * accepted by a MongoDB-protocol server.
 */
import assert from "node:assert/strict";
import { ensureSchema, type IndexSpec, indexSpecs } from "@iot/shared";
import { useMongo } from "../../dev/testing.ts";

interface Recorded {
  users: { user: string; roles: unknown }[];
  collections: string[];
  indexes: Record<string, IndexSpec[]>;
}

/** Runs init-mongo.js against a recording stand-in of mongosh's `db`. */
async function runInitScript(env: Record<string, string>): Promise<Recorded> {
  const source = await Deno.readTextFile(new URL("../../init-mongo.js", import.meta.url));
  const rec: Recorded = { users: [], collections: [], indexes: {} };
  const database = {
    getUser: () => null,
    createUser: (u: { user: string; roles: unknown }) => rec.users.push({ user: u.user, roles: u.roles }),
    getCollectionNames: () => [],
    createCollection: (name: string) => rec.collections.push(name),
    getCollection: (name: string) => ({
      createIndex: (key: Record<string, number>, options: Omit<IndexSpec, "key">) => {
        (rec.indexes[name] ??= []).push({ ...options, key } as IndexSpec);
      },
    }),
  };
  const db = { getSiblingDB: () => database };
  new Function("db", "process", "print", source)(db, { env }, () => {});
  return rec;
}

function normalise(specs: Record<string, IndexSpec[]>): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [c, list] of Object.entries(specs)) {
    out[c] = list.map((s) => JSON.parse(JSON.stringify(s))).sort((a, b) => a.name.localeCompare(b.name));
  }
  return out;
}

Deno.test("init-mongo.js creates the app user and the processor's exact indexes", async () => {
  const rec = await runInitScript({ MONGO_APP_USERNAME: "app", MONGO_APP_PASSWORD: "pw" });
  assert.deepEqual(rec.users, [{ user: "app", roles: [{ role: "readWrite", db: "iot_analytics" }] }]);
  assert.deepEqual(rec.collections.sort(), Object.keys(indexSpecs()).sort());
  const expected = normalise(indexSpecs());
  for (const c of Object.keys(expected)) if (expected[c].length === 0) delete expected[c];
  assert.deepEqual(normalise(rec.indexes), expected);
});

Deno.test("init-mongo.js follows RAW_RETENTION_DAYS like the processor", async () => {
  const rec = await runInitScript({ RAW_RETENTION_DAYS: "3" });
  assert.equal(rec.users.length, 0, "no user without a password");
  const ttl = rec.indexes.sensor_metrics.find((i) => i.name === "timestamp_ttl");
  assert.equal(ttl?.expireAfterSeconds, indexSpecs(3).sensor_metrics[0].expireAfterSeconds);
});

Deno.test("the init script's indexes are accepted by the server and match ensureSchema", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const mongo = await useMongo();
  try {
    const db = mongo.client.db(mongo.dbName);
    const rec = await runInitScript({});
    for (const [c, specs] of Object.entries(rec.indexes)) await db.collection(c).createIndexes(specs);
    const report = await ensureSchema(db);
    assert.deepEqual(report.warnings, [], "ensureSchema finds the same definitions");
    const names = (await db.collection("incidents").indexes()).map((i) => i.name);
    assert.ok(names.includes("open_incident_per_sensor"));
  } finally {
    await mongo.close();
  }
});
