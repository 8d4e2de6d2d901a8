/**
 * The producer against a real broker through its library API: everything
 * acknowledged is in the topic exactly once and valid, keys stay on their
 * partition, the rate holds, scenarios arrive as generated, and a missing
 * broker fails fast and clearly.
 */
import assert from "node:assert/strict";
import { createKafka, createLogger, decodeReading, ensureTopics, readingId } from "@iot/shared";
import { ProducerConnectError, runProducer, startProducer } from "@iot/producer";
import { freePort } from "../../dev/process.ts";
import { uniqueName, useKafka, waitFor } from "../../dev/testing.ts";
import { deleteTopics, readTopic } from "./helpers.ts";

const logger = createLogger({ name: "test", level: "warn" });
const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "every produced reading is in the topic exactly once, valid, keyed by sensor, one partition per key",
  opts,
  async () => {
    const broker = await useKafka();
    const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
    const topic = uniqueName("producer-exact");
    try {
      const result = await runProducer({
        brokers: broker.brokers,
        topic,
        partitions: 3,
        rate: 0,
        count: 30_000,
        sensors: 120,
        seed: 1234,
        batchSize: 1000,
        logger,
      });
      assert.equal(result.acknowledged, 30_000);
      assert.equal(result.failed, 0);
      assert.equal(result.stats.total, 30_000);
      assert.equal(result.stats.errors, 0);
      assert.equal(result.seed, 1234);

      const records = await readTopic(kafka, topic);
      assert.equal(records.length, 30_000);
      const ids = new Set<string>();
      const partitionOf = new Map<string, number>();
      const maxSeq = new Map<string, number>();
      for (const r of records) {
        const d = decodeReading(r.value);
        assert.ok(d.ok, `invalid record at ${r.partition}/${r.offset}: ${!d.ok && d.detail}`);
        assert.equal(r.key, d.reading.sensor_id, "key = sensor_id");
        ids.add(readingId(d.reading));
        const p = partitionOf.get(r.key);
        if (p === undefined) partitionOf.set(r.key, r.partition);
        else assert.equal(r.partition, p, `${r.key} stays on partition ${p}`);
        maxSeq.set(r.key, Math.max(maxSeq.get(r.key) ?? -1, d.reading.seq ?? -1));
      }
      assert.equal(ids.size, 30_000, "no duplicates, nothing lost");
      assert.equal(partitionOf.size, 120);
      assert.equal(new Set(partitionOf.values()).size, 3, "the keys spread over all partitions");
      for (const [id, next] of result.sequences) assert.equal(maxSeq.get(id), next - 1, `${id}: dense seq`);
      const counted = Object.values(result.stats.by_type).reduce((a, b) => a + b, 0);
      assert.equal(counted, 30_000);
      assert.equal(result.stats.by_status.normal + result.stats.by_status.anomaly, 30_000);
    } finally {
      await deleteTopics(kafka, [topic]);
      await broker.close();
    }
  },
);

Deno.test("the target rate holds at 200 and 2000 msg/s (counted from record timestamps)", opts, async () => {
  const broker = await useKafka();
  const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
  const topics: string[] = [];
  try {
    for (const rate of [200, 2000]) {
      const topic = uniqueName(`producer-rate-${rate}`);
      topics.push(topic);
      const result = await runProducer({ brokers: broker.brokers, topic, rate, durationS: 4, sensors: 50, logger });
      // The schedule hands out exactly rate × duration records.
      assert.ok(Math.abs(result.acknowledged - rate * 4) <= 1, `${result.acknowledged} records at ${rate} msg/s`);
      const stamps = (await readTopic(kafka, topic)).map((r) => r.timestamp).sort((a, b) => a - b);
      assert.equal(stamps.length, result.acknowledged);
      // Records created in the middle two seconds, away from start-up and the end.
      const t0 = stamps[0];
      const middle = stamps.filter((t) => t >= t0 + 1000 && t < t0 + 3000).length / 2;
      assert.ok(Math.abs(middle - rate) <= 0.15 * rate, `${middle} msg/s measured for a target of ${rate}`);
    }
  } finally {
    await deleteTopics(kafka, topics);
    await broker.close();
  }
});

Deno.test(
  "scenario records arrive as generated: duplicates repeat seq, malformed payloads are refused",
  opts,
  async () => {
    const broker = await useKafka();
    const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
    const topic = uniqueName("producer-scenarios");
    try {
      const result = await runProducer({
        brokers: broker.brokers,
        topic,
        rate: 0,
        count: 5000,
        sensors: 30,
        seed: 77,
        scenarios: { duplicates: 0.05, malformed: 0.05, late: 0.05, outOfOrder: 0.05 },
        compression: "gzip",
        logger,
      });
      assert.equal(result.failed, 0);
      const records = await readTopic(kafka, topic);
      assert.equal(records.length, 5000);
      const ids = new Map<string, number>();
      let malformed = 0;
      for (const r of records) {
        const d = decodeReading(r.value);
        if (!d.ok) {
          malformed++;
          continue;
        }
        const id = readingId(d.reading);
        ids.set(id, (ids.get(id) ?? 0) + 1);
      }
      assert.equal(malformed, result.stats.by_status.malformed);
      assert.ok(malformed > 150, `${malformed} malformed`);
      const twice = [...ids.values()].filter((n) => n === 2).length;
      assert.equal(twice, result.stats.duplicates);
      assert.ok(twice > 150, `${twice} duplicated readings`);
      assert.ok([...ids.values()].every((n) => n <= 2));
    } finally {
      await deleteTopics(kafka, [topic]);
      await broker.close();
    }
  },
);

Deno.test("stop() flushes in-flight sends; /metrics and /healthz are served while running", opts, async () => {
  const broker = await useKafka();
  const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
  const topic = uniqueName("producer-stop");
  const handle = startProducer({ brokers: broker.brokers, topic, rate: 5000, sensors: 100, metricsPort: 0, logger });
  try {
    await handle.ready;
    await waitFor(() => handle.current().total >= 2000, { what: "2000 acknowledged records" });
    const port = await waitFor(() => handle.metricsPort);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, "ok");
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /producer_messages_acked_total \d+/);
    assert.match(metrics, /producer_batch_latency_seconds_count \d+/);
    const result = await handle.stop();
    assert.equal(result.failed, 0);
    assert.equal(result.stats.in_flight, 0);
    assert.ok(result.stats.final);
    const records = await readTopic(kafka, topic);
    assert.equal(records.length, result.acknowledged, "every acknowledged record, and nothing else, is in the topic");
  } finally {
    await handle.stop().catch(() => {});
    await deleteTopics(kafka, [topic]);
    await broker.close();
  }
});

Deno.test("a broker that is not there fails within the connect timeout with a clear error", opts, async () => {
  const started = performance.now();
  await assert.rejects(
    runProducer({ brokers: [`127.0.0.1:${freePort()}`], topic: "nowhere", connectTimeoutMs: 2000, logger }),
    (e: Error) => {
      assert.ok(e instanceof ProducerConnectError);
      assert.match(e.message, /Cannot reach Kafka at 127\.0\.0\.1:\d+ within 2 s/);
      return true;
    },
  );
  assert.ok(performance.now() - started < 20_000, "gives up near the deadline, not after kafkajs' own retries");
});

Deno.test(
  "records above the topic's max.message.bytes are refused and counted; every other record is acknowledged and stored",
  opts,
  async () => {
    const broker = await useKafka();
    const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
    const topic = uniqueName("producer-too-large");
    const admin = kafka.admin();
    await admin.connect();
    // The generator's too_large payloads are about 20 kB.
    await ensureTopics(admin, [{ topic, numPartitions: 3, configs: { "max.message.bytes": "10000" } }]);
    await admin.disconnect();
    try {
      const result = await runProducer({
        brokers: broker.brokers,
        topic,
        rate: 0,
        count: 4000,
        sensors: 40,
        seed: 99,
        scenarios: { malformed: 0.1 },
        logger: createLogger({ name: "test", level: "error", write: () => {} }),
      });
      assert.ok(result.refused > 10, `${result.refused} refused`);
      assert.equal(result.failed, result.refused, "nothing failed but the oversized records");
      assert.equal(result.stats.refused, result.refused);
      assert.equal(result.acknowledged + result.refused, 4000);
      const records = await readTopic(kafka, topic);
      assert.equal(records.length, result.acknowledged);
      assert.ok(records.every((r) => r.value.length < 10_000));
    } finally {
      await deleteTopics(kafka, [topic]);
      await broker.close();
    }
  },
);
