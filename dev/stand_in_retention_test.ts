import assert from "node:assert/strict";
import { nextCutoff, type RetentionRule } from "./stand_in_retention.ts";

const rule: RetentionRule = { collection: "sensor_metrics", field: "timestamp", maxAgeSeconds: 900, maxDocs: 1000 };
const now = 10_000_000;

Deno.test("under the count bound the cutoff is the age limit", () => {
  assert.equal(nextCutoff({ now, rule, count: 1000, oldestKept: now - 100_000 }), now - 900_000);
});

Deno.test("over the count bound the cutoff moves by the share to drop, down to 90 % of the bound", () => {
  // 2000 documents spread over the last 100 s: keeping 900 of them means dropping the oldest 55 %.
  const cutoff = nextCutoff({ now, rule, count: 2000, oldestKept: now - 100_000 });
  assert.equal(cutoff, now - 100_000 + 55_000);
});

Deno.test("the count bound never keeps more than the age limit allows", () => {
  const cutoff = nextCutoff({ now, rule, count: 1001, oldestKept: now - 10_000_000 });
  assert.ok(cutoff >= now - 900_000);
});

Deno.test({
  name: "a retention round on the stand-in keeps at most the count bound, newest first",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const { useMongo } = await import("./testing.ts");
    const { StandInRetention } = await import("./stand_in_retention.ts");
    const mongo = await useMongo();
    try {
      const t0 = 50_000_000;
      const col = mongo.client.db(mongo.dbName).collection<{ _id: number; timestamp: Date }>("sensor_metrics");
      // 5,000 readings, one every 20 ms over the last 100 s.
      await col.insertMany(
        Array.from({ length: 5000 }, (_, i) => ({ _id: i, timestamp: new Date(t0 - 100_000 + i * 20) })),
      );
      const logs: string[] = [];
      const retention = new StandInRetention({
        client: mongo.client,
        rules: [{ collection: "sensor_metrics", field: "timestamp", maxAgeSeconds: 900, maxDocs: 1000 }],
        now: () => t0,
        log: (m) => logs.push(m),
      });
      retention.start();
      await retention.round();
      await retention.round();
      await retention.stop();
      const left = await col.countDocuments();
      assert.ok(left <= 1000 && left >= 800, `kept ${left} of 5000`);
      assert.ok(await col.findOne({ _id: 4999 }), "the newest reading is kept");
      assert.equal(await col.findOne({ _id: 0 }), null, "the oldest is gone");
      assert.equal(logs.length, 1, "said once");
      assert.match(logs[0], /more than the stand-in keeps \(1000\)/);
    } finally {
      await mongo.close();
    }
  },
});
