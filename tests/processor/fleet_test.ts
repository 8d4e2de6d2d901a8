/**
 * A seeded fleet with 2 % stuck and 2 % drift sensors (and the default 5 %
 * anomaly spikes) through the real processor, broker and MongoDB-protocol
 * server: it ends with one open incident per faulty sensor, while the spikes
 * of the healthy sensors appear only as anomaly events.
 */
import assert from "node:assert/strict";
import { COLLECTIONS, createKafka, createLogger, sensorId } from "@iot/shared";
import { FleetGenerator } from "../../producer/generator.ts";
import { startProcessor } from "../../processor/mod.ts";
import { uniqueName, useKafka, useMongo, waitFor } from "../../dev/testing.ts";
import { send, T0 } from "./fixtures.ts";

const logger = createLogger({ name: "test", level: "warn" });

Deno.test("a fleet with 2 % stuck and 2 % drift sensors ends with one incident per faulty sensor", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const broker = await useKafka();
  const mongo = await useMongo();
  const base = uniqueName("fleet");
  const topics = { readings: `${base}-data`, deadLetters: `${base}-data.dlq`, alerts: `${base}-alerts` };
  const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
  const sensors = 100;
  const gen = new FleetGenerator({ sensors, seed: 16, startTime: T0, scenarios: { stuck: 0.02, drift: 0.02 } });
  const faulty = new Set(gen.roles().flatMap((r, i) => (r === "normal" ? [] : [sensorId(i + 1)])));
  assert.equal(faulty.size, 4);
  // 150 readings per sensor, one a second per sensor (event time).
  const records = [];
  let spikes = 0;
  for (let i = 0; i < sensors * 150; i++) {
    const r = gen.next(T0 + Math.floor(i * (1000 / sensors)));
    if (r.spike) spikes++;
    records.push({ key: r.key, value: r.value as string });
  }
  const handle = await startProcessor({
    kafka: { brokers: broker.brokers, clientId: "test" },
    mongo: { url: mongo.url, db: mongo.dbName },
    topics,
    groupId: uniqueName("group"),
    metricsPort: 0,
    flushIntervalMs: 200,
    rawRetentionDays: 36500,
    // The backlog arrives in a burst: no silence judged on the wall clock here.
    detectors: { silenceSeconds: 36_000, silenceMinSeconds: 36_000 },
    logger,
  });
  try {
    await handle.ready;
    await send(kafka, topics.readings, records);
    await waitFor(() => (handle.stats().outcomes.stored ?? 0) >= records.length ? true : undefined, {
      timeoutMs: 120_000,
      what: "every reading stored",
    });
    const db = mongo.client.db(mongo.dbName);
    const open = await waitFor(async () => {
      const docs = await db.collection(COLLECTIONS.incidents).find({ state: "firing" }).toArray();
      return docs.length >= faulty.size ? docs : undefined;
    }, { timeoutMs: 30_000, what: "an incident per faulty sensor" });
    assert.deepEqual(new Set(open.map((d) => d.sensor_id)), faulty, "one incident per faulty sensor, no other");
    assert.equal(await db.collection(COLLECTIONS.incidents).countDocuments({}), faulty.size, "no false incident");
    const events = db.collection(COLLECTIONS.events);
    // Events are written at the flush after their batch: the last batches' may still be on their way.
    const countHealthy = () => events.countDocuments({ sensor_id: { $nin: [...faulty] } });
    await waitFor(async () => (await countHealthy()) >= spikes * 0.9 ? true : undefined, {
      timeoutMs: 30_000,
      what: "the events of the spikes",
    }).catch(() => {});
    const healthyEvents = await countHealthy();
    assert.ok(healthyEvents >= spikes * 0.9, `spikes appear as events (${healthyEvents} for ${spikes} spikes)`);
  } finally {
    await handle.stop().catch(() => {});
    await mongo.close();
    await broker.close();
  }
});
