/**
 * Operations: the CLI serves /healthz and /metrics and stops gracefully on
 * SIGTERM with offsets committed; a MongoDB outage is retried without
 * committing past unwritten data.
 */
import assert from "node:assert/strict";
import { COLLECTIONS, createKafka, createLogger, ensureTopics, sensorId, type SensorReading } from "@iot/shared";
import { MongoClient } from "mongodb";
import { LocalMongo } from "../../dev/mongo.ts";
import { freePort } from "../../dev/process.ts";
import { uniqueName, useKafka, useMongo, waitFor } from "../../dev/testing.ts";
import { startProcessor } from "../../processor/mod.ts";
import { reading, send } from "./fixtures.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const logger = createLogger({ name: "test", level: "error" });

function recent(count: number, sensors: number, seqBase = 0): SensorReading[] {
  const now = Date.now();
  return Array.from(
    { length: count },
    (_, i) => reading(sensorId((i % sensors) + 1), seqBase + Math.floor(i / sensors), now - 5000 + i),
  );
}

async function committedSum(admin: import("kafkajs").Admin, groupId: string, topic: string): Promise<number> {
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  return offsets[0].partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
}

Deno.test("the CLI serves /healthz and /metrics and commits everything on SIGTERM", opts, async () => {
  const broker = await useKafka();
  const mongo = await useMongo();
  const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
  const admin = kafka.admin();
  const topic = uniqueName("cli");
  const group = uniqueName("cli-group");
  const port = freePort();
  let child: Deno.ChildProcess | undefined;
  try {
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: 3 }]);
    await send(kafka, topic, recent(200, 10));
    child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../processor/main.ts", import.meta.url).pathname,
        "--brokers",
        broker.brokers.join(","),
        "--mongo-url",
        mongo.url,
        "--group",
        group,
        "--metrics-port",
        String(port),
      ],
      env: {
        KAFKA_TOPIC: topic,
        KAFKA_DLQ_TOPIC: `${topic}.dlq`,
        KAFKA_ALERTS_TOPIC: `${topic}-alerts`,
        MONGO_DB: mongo.dbName,
        LOG_LEVEL: "error",
      },
      stdout: "null",
      stderr: "null",
    }).spawn();
    const health = await waitFor(async () => {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      if (!r) return undefined;
      const body = await r.json();
      return r.status === 200 ? body : undefined;
    }, { what: "/healthz 200", timeoutMs: 60_000 });
    assert.equal(health.status, "ok");
    const raw = mongo.client.db(mongo.dbName).collection(COLLECTIONS.readings);
    await waitFor(async () => (await raw.countDocuments()) === 200, { what: "200 raw readings", timeoutMs: 30_000 });
    const metrics = await waitFor(async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return /processor_consumer_lag\{partition="\d"\} 0/.test(text) ? text : undefined;
    }, { what: "lag metrics", timeoutMs: 15_000 });
    assert.match(metrics, /^processor_consumed_total 200$/m);
    assert.match(metrics, /^processor_records_total\{outcome="stored"\} 200$/m, "one outcome per consumed record");
    assert.match(metrics, /processor_written_total\{collection="sensor_metrics"\} 200/);
    assert.match(metrics, /processor_batch_seconds_count \d+/);
    assert.match(metrics, /processor_e2e_lag_ms \d+/);
    assert.equal(
      await fetch(`http://127.0.0.1:${port}/nope`).then(async (r) => (await r.body?.cancel(), r.status)),
      404,
    );

    child.kill("SIGTERM");
    const status = await child.status;
    child = undefined;
    assert.equal(status.code, 0, "graceful exit");
    assert.equal(await committedSum(admin, group, topic), 200, "every offset committed at shutdown");
    const windows = await mongo.client.db(mongo.dbName).collection(COLLECTIONS.windows).countDocuments();
    assert.ok(windows > 0, "open windows were flushed");
  } finally {
    try {
      child?.kill("SIGKILL");
      await child?.status;
    } catch { /* gone */ }
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`, `${topic}-alerts`] }).catch(() => {});
    await admin.disconnect().catch(() => {});
    await mongo.close();
    await broker.close();
  }
});

Deno.test("a MongoDB outage is retried, reported by /healthz, and never committed past", opts, async () => {
  const broker = await useKafka();
  const port = freePort();
  let mongo = new LocalMongo({ engine: "java", port, heap: "512m" });
  await mongo.start();
  const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
  const admin = kafka.admin();
  const topic = uniqueName("outage");
  const group = uniqueName("outage-group");
  const metricsPort = freePort();
  const dbName = "outage";
  const handle = await startProcessor({
    kafka: { brokers: broker.brokers, clientId: "test" },
    mongo: { url: mongo.url, db: dbName },
    topics: { readings: topic, deadLetters: `${topic}.dlq`, alerts: `${topic}-alerts` },
    groupId: group,
    metricsPort,
    metricsHost: "127.0.0.1",
    flushIntervalMs: 200,
    heartbeatMs: 500,
    logger,
  });
  const client = new MongoClient(mongo.url);
  try {
    await admin.connect();
    await handle.ready;
    await send(kafka, topic, recent(100, 10));
    await waitFor(async () => (await committedSum(admin, group, topic)) === 100, { what: "first 100 committed" });

    await mongo.stop();
    await send(kafka, topic, recent(100, 10, 1000));
    await waitFor(() => handle.stats().mongoRetries > 0, { what: "write retries", timeoutMs: 60_000 });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status === 503 || undefined, {
      what: "/healthz 503",
      timeoutMs: 30_000,
    });
    // Batches are processed one at a time, so the first one stuck on MongoDB holds back the rest of the
    // fetch: how many of the 100 are counted before recovery depends on how the broker split them.
    assert.ok(handle.stats().consumed > 100, "new records were fetched during the outage");
    assert.equal(await committedSum(admin, group, topic), 100, "nothing committed while MongoDB is down");

    mongo = new LocalMongo({ engine: "java", port, heap: "512m" });
    await mongo.start();
    await waitFor(async () => (await committedSum(admin, group, topic)) === 200, {
      what: "commit after recovery",
      timeoutMs: 90_000,
    });
    await client.connect();
    const raw = client.db(dbName).collection(COLLECTIONS.readings);
    assert.equal(await raw.countDocuments({ seq: { $gte: 1000 } }), 100, "the records fetched during the outage");
    await waitFor(async () => (await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status === 200 || undefined, {
      what: "/healthz 200 again",
      timeoutMs: 30_000,
    });
  } finally {
    await handle.stop().catch(() => {});
    await client.close().catch(() => {});
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`, `${topic}-alerts`] }).catch(() => {});
    await admin.disconnect().catch(() => {});
    await mongo.dispose();
    await broker.close();
  }
});
