/**
 * Foreign clients into a running processor: kafka-python sends the reference
 * format (Python `isoformat()` times, no `seq`, `MODEL_03`, `co2` in unknown
 * locations) and Kafka's console producer sends a `co2` sensor in `lab-7`
 * (epoch-ms and `+02:00` times, a `seq` with a gap and a restart) plus a few
 * bad records. Every acknowledged reading is stored under its `readingId` and
 * windowed (window counts add up to the stored count per group), the bad ones
 * are dead-lettered by reason, the outcomes add up to what was consumed, the
 * `seq` events are counted, and the dashboard's API shows the new type and
 * location. The figures are printed.
 */
import assert from "node:assert/strict";
import type { Db } from "mongodb";
import {
  COLLECTIONS,
  createKafka,
  createLogger,
  ensureTopics,
  type PipelineStatsDoc,
  type ReadingDoc,
  readingId,
  type WindowDoc,
} from "@iot/shared";
import { type ProcessorHandle, startProcessor } from "../../processor/mod.ts";
import { createApp } from "../../web/mod.ts";
import { freePort } from "../../dev/process.ts";
import { useKafka, useMongo, waitFor } from "../../dev/testing.ts";
import { testProcessorOptions, testTopics } from "../processor/fixtures.ts";
import { type ConsoleRecord, sendWithConsoleProducer } from "./console_producer.ts";
import { sendReferenceReadings } from "./kafka_python.ts";

const logger = createLogger({ name: "test", level: "warn" });
const opts = { sanitizeOps: false, sanitizeResources: false };
const CO2 = "lab-7.co2-01";

/** An ISO-8601 time at a +02:00 offset with nine fractional digits. */
function plusTwo(ms: number): string {
  return new Date(ms + 2 * 3_600_000).toISOString().replace("Z", "123456+02:00");
}

/** The console producer's records: 20 co2 readings of one sensor in lab-7, then 4 bad records. */
function consoleRecords(now: number): { valid: ConsoleRecord[]; bad: ConsoleRecord[] } {
  const seqs = [...Array(10).keys(), 15, 16, 17, 18, 19, 0, 1, 2, 3, 4]; // a gap of 5, then a restart
  const valid = seqs.map((seq, i) => {
    const t = now - 30_000 + i * 500;
    const r: Record<string, unknown> = {
      sensor_id: CO2,
      sensor_type: "co2",
      value: 600 + i,
      location: "lab-7",
      timestamp: i % 3 === 0 ? t : i % 3 === 1 ? plusTwo(t) : new Date(t).toISOString(),
      seq,
    };
    if (i % 2 === 0) r.metadata = { unit: "ppm", sensor_model: "MODEL_03" };
    if (i % 5 === 0) r.firmware = "1.2.0";
    return { key: CO2, value: JSON.stringify(r) };
  });
  const base = { sensor_type: "temperature", location: "lab-7", timestamp: new Date(now).toISOString() };
  const bad = [
    { key: "bad-1", value: "not json at all" },
    { key: "bad-2", value: JSON.stringify({ ...base, sensor_id: "t-1", value: 500 }) },
    { key: "bad-3", value: JSON.stringify({ ...base, sensor_id: "t-1", value: 21, timestamp: now + 7_200_000 }) },
    { key: "bad-4", value: JSON.stringify({ ...base, sensor_id: "t-1" }) },
  ];
  return { valid, bad };
}

/** Window counts summed per `kind|group|size`, and the stored readings counted per the same key. */
async function windowedVsStored(db: Db, sizes: number[]): Promise<{ windowed: object; stored: object }> {
  const stored: Record<string, number> = {};
  const readings = await db.collection<ReadingDoc>(COLLECTIONS.readings).find({}).toArray();
  for (const r of readings) {
    for (const s of sizes) {
      for (const k of [`type_location|${r.sensor_type}/${r.location}|${s}`, `sensor|${r.sensor_id}|${s}`]) {
        stored[k] = (stored[k] ?? 0) + 1;
      }
    }
  }
  const windowed: Record<string, number> = {};
  for (const w of await db.collection<WindowDoc>(COLLECTIONS.windows).find({}).toArray()) {
    const k = `${w.kind}|${w.group}|${w.size_s}`;
    windowed[k] = (windowed[k] ?? 0) + w.count;
  }
  return { windowed, stored };
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

Deno.test(
  "kafka-python and Kafka's console producer into a running processor: every acknowledged reading stored and windowed",
  opts,
  async () => {
    const broker = await useKafka();
    const mongo = await useMongo();
    const t = testTopics();
    const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
    const admin = kafka.admin();
    const db = mongo.client.db(mongo.dbName);
    const web = createApp({ db, logger });
    let handle: ProcessorHandle | undefined;
    try {
      await admin.connect();
      await ensureTopics(admin, [{ topic: t.readings, numPartitions: 3 }]);
      handle = await startProcessor({
        ...testProcessorOptions({ brokers: broker.brokers, url: mongo.url, db: mongo.dbName, topics: t, logger }),
        allowedLatenessMs: 300_000, // the two clients' clocks and batches interleave: nothing here is late
        metricsPort: freePort(),
      });
      await handle.ready;

      const count = 600;
      const run = await sendReferenceReadings({ brokers: broker.brokers, topic: t.readings, count });
      assert.deepEqual(run.errors, [], "kafka-python acknowledged every send");
      assert.equal(run.acked.length, count);
      const cli = consoleRecords(Date.now());
      const cliSent = await sendWithConsoleProducer({
        brokers: broker.brokers,
        topic: t.readings,
        records: [...cli.valid, ...cli.bad],
      });
      assert.equal(cliSent, cli.valid.length + cli.bad.length);

      const ids = [...run.acked.map((a) => a.value), ...cli.valid.map((r) => r.value)]
        .map((v) => readingId(JSON.parse(v)));
      assert.equal(new Set(ids).size, ids.length, "every acknowledged reading has its own id");
      const consumed = run.acked.length + cliSent;
      const p = handle;
      await waitFor(() => {
        const s = p.stats();
        return s.consumed === consumed && sum(s.outcomes) === consumed;
      }, { what: "every record consumed and in one outcome", timeoutMs: 60_000 });

      const raw = db.collection<ReadingDoc>(COLLECTIONS.readings);
      assert.equal(await raw.countDocuments({ _id: { $in: ids } }), ids.length, "every acknowledged reading stored");
      assert.equal(await raw.countDocuments(), ids.length, "and nothing else");
      const sample = await raw.findOne({ _id: readingId(JSON.parse(run.acked[0].value)) });
      assert.equal(sample?.extra?.rssi, JSON.parse(run.acked[0].value).rssi, "the unnamed field kept");
      assert.equal(sample?.metadata?.sensor_model, JSON.parse(run.acked[0].value).metadata.sensor_model);

      const s = p.stats();
      assert.deepEqual(s.outcomes, { stored: ids.length, dead_lettered: cli.bad.length }, JSON.stringify(s.outcomes));
      assert.deepEqual(s.deadLetteredByReason, { invalid_json: 1, out_of_range: 1, future_time: 1, invalid_schema: 1 });
      assert.deepEqual(
        s.seq,
        { gap: 1, missing: 5, reorder: 0, repeat: 0, restart: 1 },
        "only the console sensor sends seq",
      );

      let last: { windowed: object; stored: object } | undefined;
      await waitFor(async () => {
        last = await windowedVsStored(db, [10, 60]);
        return JSON.stringify(Object.entries(last.windowed).sort()) ===
          JSON.stringify(Object.entries(last.stored).sort());
      }, { what: "window counts equal to the stored counts per group", timeoutMs: 30_000 }).catch((e) => {
        throw new Error(`${(e as Error).message}: ${JSON.stringify(last)}`);
      });

      const metrics = await (await fetch(`http://127.0.0.1:${p.metricsPort}/metrics`)).text();
      assert.match(metrics, new RegExp(`^processor_records_total\\{outcome="stored"\\} ${ids.length}$`, "m"));
      assert.match(metrics, /^processor_records_total\{outcome="dead_lettered",reason="future_time"\} 1$/m);
      assert.match(metrics, /^processor_seq_events_total\{kind="gap"\} 1$/m);
      assert.match(metrics, /^processor_seq_events_total\{kind="restart"\} 1$/m);
      assert.match(metrics, /^processor_seq_missing_total 5$/m);
      const beat = await waitFor(async () => {
        const d = await db.collection<PipelineStatsDoc>(COLLECTIONS.pipelineStats).findOne({
          _id: `processor:${p.config.instance}`,
        });
        return d?.totals.outcome_stored === ids.length && d.totals.consumed === consumed ? d : undefined;
      }, { what: "the heartbeat with the outcomes" });
      assert.equal(beat.totals.consumed, consumed);
      assert.equal(beat.totals.outcome_dead_lettered, cli.bad.length);
      assert.equal(beat.totals.dead_lettered_out_of_range, 1);
      assert.equal(beat.totals.seq_gap, 1);
      assert.equal(beat.totals.seq_restart, 1);

      // Mixed vocabularies on the dashboard's API: co2 in lab-7 (nobody described either) is listed and charted.
      const co2 = await (await web.app.request("/api/windows?type=co2&location=lab-7&limit=100")).json();
      assert.equal(
        co2.windows.reduce((n: number, w: { count: number }) => n + w.count, 0),
        cli.valid.length,
        "the 10 s co2/lab-7 windows hold every console reading",
      );
      const vocabulary = await (await web.app.request("/api/vocabulary")).json();
      const types = vocabulary.types.map((x: { type: string }) => x.type);
      for (const type of ["co2", "temperature", "humidity"]) assert.ok(types.includes(type), type);
      for (const l of ["lab-7", "cold store 2", "greenhouse-3", "office-main"]) {
        assert.ok(vocabulary.locations.includes(l), l);
      }
      const sensor = await (await web.app.request(`/api/sensors/${CO2}`)).json();
      assert.equal(sensor.details.sensor_type, "co2");
      assert.equal(sensor.details.location, "lab-7");
      assert.equal(sensor.details.unit, "ppm", "from the readings' metadata");

      console.log(
        `kafka-python: sent ${run.sent}, acknowledged ${run.acked.length}; console producer: sent ${cliSent} ` +
          `(${cli.valid.length} readings, ${cli.bad.length} bad); processor: consumed ${s.consumed}, ` +
          `stored ${s.outcomes.stored}, dead-lettered ${JSON.stringify(s.deadLetteredByReason)}, ` +
          `outcomes ${JSON.stringify(s.outcomes)}, seq ${JSON.stringify(s.seq)}`,
      );
    } finally {
      await handle?.stop().catch(() => {});
      await web.close();
      await admin.deleteTopics({ topics: [t.readings, t.deadLetters, t.alerts] }).catch(() => {});
      await admin.disconnect().catch(() => {});
      await mongo.close();
      await broker.close();
    }
  },
);
