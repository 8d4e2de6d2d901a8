/**
 * The producer twice into one database, then two producers at once (same
 * sensor ids), into one running processor: the reading id is the sensor id
 * plus the event time, so a restarted producer (its `seq` back at 0) and a
 * second producer never collide. Stored = acknowledged, and the detectors
 * judged every reading.
 */
import assert from "node:assert/strict";
import { COLLECTIONS, createKafka, createLogger } from "@iot/shared";
import { runProducer } from "@iot/producer";
import { type ProcessorHandle, startProcessor } from "../../processor/mod.ts";
import { useKafka, useMongo, waitFor } from "../../dev/testing.ts";
import { deleteTopics } from "../producer/helpers.ts";
import { testProcessorOptions, testTopics } from "./fixtures.ts";

const logger = createLogger({ name: "test", level: "warn" });
const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "two producer runs into one database, and two producers at once: stored = acknowledged, detectors ran on all",
  opts,
  async () => {
    const broker = await useKafka();
    const mongo = await useMongo();
    const t = testTopics();
    const db = mongo.client.db(mongo.dbName);
    let handle: ProcessorHandle | undefined;
    try {
      handle = await startProcessor({
        ...testProcessorOptions({ brokers: broker.brokers, url: mongo.url, db: mongo.dbName, topics: t, logger }),
        allowedLatenessMs: 300_000, // two producers' batches interleave: nothing here is late
      });
      await handle.ready;
      const p = handle;
      const produce = (seed: number) =>
        runProducer({
          brokers: broker.brokers,
          topic: t.readings,
          partitions: 3,
          rate: 1000,
          count: 2000,
          sensors: 200,
          seed,
          statsIntervalS: 0,
          logger,
        });
      let acked = 0;
      const settle = async (what: string) => {
        await waitFor(() => {
          const s = p.stats();
          const outcomes = Object.values(s.outcomes).reduce((a, b) => a + b, 0);
          return s.consumed === acked && outcomes === acked && s.checked === (s.outcomes.stored ?? 0);
        }, { what: `${what}: ${acked} records consumed, counted and checked`, timeoutMs: 60_000 }).catch((e) => {
          const s = p.stats();
          throw new Error(
            `${(e as Error).message}: consumed ${s.consumed}, checked ${s.checked}, ` +
              `outcomes ${JSON.stringify(s.outcomes)}`,
          );
        });
        const s = p.stats();
        const stored = await db.collection(COLLECTIONS.readings).countDocuments();
        console.log(`${what}: acknowledged ${acked}, stored ${stored}, outcomes ${JSON.stringify(s.outcomes)}`);
        assert.deepEqual(s.outcomes, { stored: acked }, `${what}: every acknowledged reading stored, once`);
        assert.equal(stored, acked, `${what}: stored = acknowledged`);
        assert.equal(s.checked, acked, `${what}: the detectors judged every reading`);
      };

      // Two runs one after the other: the second starts its seq at 0 again.
      for (const seed of [1, 2]) {
        const r = await produce(seed);
        assert.equal(r.failed, 0);
        acked += r.acknowledged;
      }
      await settle("two runs in sequence");

      // Two producers at once, the same sensor ids.
      const both = await Promise.all([produce(3), produce(4)]);
      for (const r of both) assert.equal(r.failed, 0);
      acked += both[0].acknowledged + both[1].acknowledged;
      await settle("two producers at once");
      assert.equal(acked, 8000);
    } finally {
      await handle?.stop().catch(() => {});
      const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
      await deleteTopics(kafka, [t.readings, t.deadLetters, t.alerts]);
      await mongo.close();
      await broker.close();
    }
  },
);
