import assert from "node:assert/strict";
import { COLLECTIONS, parseSensorTypes, type WindowDoc } from "@iot/shared";
import { useMongo } from "../dev/testing.ts";
import { describeTypes, VocabularyLoader } from "./vocabulary.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function win(type: string, location: string, start: number, kind: "type_location" | "sensor" = "type_location") {
  return {
    _id: `${kind}|${type}/${location}|${start}|10`,
    kind,
    sensor_type: type,
    location,
    window_start: new Date(start),
  } as unknown as WindowDoc;
}

Deno.test("describeTypes: built-in types first in their order, then by name; undescribed types are bare", () => {
  const types = parseSensorTypes(
    JSON.stringify({ types: { co2: { unit: "ppm", normal_min: 400, normal_max: 1000 } } }),
  );
  const d = describeTypes(["zeta", "humidity", "co2", "temperature"], types);
  assert.deepEqual(d.map((t) => t.type), ["temperature", "humidity", "co2", "zeta"]);
  assert.deepEqual(d[2].band, { min: 400, max: 1000 });
  assert.equal(d[2].unit, "ppm");
  assert.deepEqual(d[3], { type: "zeta", unit: "", builtin: false });
});

Deno.test("VocabularyLoader: the types and locations of recent type/location windows, cached", opts, async () => {
  const mongo = await useMongo();
  try {
    const db = mongo.client.db(mongo.dbName);
    const col = db.collection<WindowDoc>(COLLECTIONS.windows);
    let now = Date.UTC(2026, 11, 1, 12);
    await col.insertMany([
      win("co2", "lab-7", now - 60_000),
      win("temperature", "office-lab", now - 10_000),
      win("co2", "office-lab", now - 10_000),
      win("old", "gone", now - 2 * 3_600_000),
      win("sensoronly", "elsewhere", now - 10_000, "sensor"),
      win("$bad", "bad/x", now - 10_000),
    ]);
    const loader = new VocabularyLoader({ db, now: () => now });
    const v = await loader.load();
    assert.deepEqual(v.types.map((t) => t.type), ["temperature", "co2"]);
    assert.ok(v.types[0].builtin && v.types[0].band, "built-in types keep their band");
    assert.equal(v.types[1].band, undefined, "co2 is not described");
    assert.deepEqual(v.locations, ["lab-7", "office-lab"]);
    assert.equal(v.since, now - 3_600_000);

    await col.insertOne(win("humidity", "roof", now));
    now += 1000;
    assert.deepEqual((await loader.load()).locations, ["lab-7", "office-lab"], "cached for 5 s");
    now += 5000;
    const fresh = await loader.load();
    assert.deepEqual(fresh.types.map((t) => t.type), ["temperature", "humidity", "co2"]);
    assert.deepEqual(fresh.locations, ["lab-7", "office-lab", "roof"]);
  } finally {
    await mongo.close();
  }
});
