/** The stand-in's bounds, shared by `deno task services` and `deno task up`. */
import assert from "node:assert/strict";
import { standInBounds } from "./mongo.ts";

Deno.test("the stand-in's bounds have defaults and follow the environment", () => {
  assert.deepEqual(standInBounds({}), {
    heap: "3g",
    oplogRetentionSeconds: 600,
    oplogMaxEntries: 200_000,
    rawRetentionSeconds: 900,
    maxReadings: 600_000,
    windowRetentionSeconds: 3600,
    maxWindows: 200_000,
    maxEvents: 100_000,
  });
  const custom = standInBounds({ IOT_MONGO_HEAP: "2g", IOT_MONGO_OPLOG_SECONDS: "60", RAW_RETENTION_DAYS: "1" });
  assert.equal(custom.heap, "2g");
  assert.equal(custom.oplogRetentionSeconds, 60);
  assert.equal(custom.rawRetentionSeconds, 86_400);
  assert.equal(standInBounds({ IOT_MONGO_MAX_READINGS: "5000" }).maxReadings, 5000);
});

Deno.test("bad stand-in bounds fail with the variable's name", () => {
  assert.throws(() => standInBounds({ IOT_MONGO_HEAP: "lots" }), /IOT_MONGO_HEAP must look like 512m or 3g/);
  assert.throws(() => standInBounds({ IOT_MONGO_OPLOG_SECONDS: "-1" }), /IOT_MONGO_OPLOG_SECONDS must be a positive/);
  assert.throws(() => standInBounds({ RAW_RETENTION_DAYS: "x" }), /RAW_RETENTION_DAYS must be a positive/);
});
