/**
 * The stream processor against the real broker and the MongoDB-protocol server:
 * exact raw and window counts, idempotent replay, dead letters, alerts, and
 * two instances sharing the partitions.
 */
import assert from "node:assert/strict";
import {
  COLLECTIONS,
  createKafka,
  createLogger,
  ensureTopics,
  readingId,
  sensorId,
  type SensorReading,
} from "@iot/shared";
import { type ProcessorHandle, startProcessor, type StartProcessorOptions } from "../../processor/mod.ts";
import { sensorPolicy } from "../../processor/stages/alerts.ts";
import { uniqueName, useKafka, useMongo, waitFor } from "../../dev/testing.ts";
import {
  expectedWindows,
  reading,
  readTopic,
  send,
  snapshot,
  T0,
  testProcessorOptions,
  testTopics,
} from "./fixtures.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const logger = createLogger({ name: "test", level: "warn" });

const topics = testTopics;
const baseOptions = (brokers: string[], url: string, db: string, t: ReturnType<typeof topics>) =>
  testProcessorOptions({ brokers, url, db, topics: t, logger });

async function orUndefined<T>(p: Promise<T | null>): Promise<T | undefined> {
  return (await p) ?? undefined;
}

async function checkWindows(
  db: import("mongodb").Db,
  expected: Map<string, { count: number; sum: number; min: number; max: number }>,
  requireFinal: boolean,
): Promise<string | true> {
  const docs = await db.collection(COLLECTIONS.windows).find({}).toArray();
  if (docs.length !== expected.size) return `${docs.length} windows, expected ${expected.size}`;
  for (const d of docs) {
    const e = expected.get(String(d._id));
    if (!e) return `unexpected window ${d._id}`;
    if (d.count !== e.count) return `${d._id} count ${d.count}, expected ${e.count}`;
    if (Math.abs(d.sum - e.sum) > 1e-6 || d.min !== e.min || d.max !== e.max) return `${d._id} aggregates differ`;
    if (Math.abs(d.avg - e.sum / e.count) > 1e-9) return `${d._id} avg ${d.avg}`;
    if (requireFinal && d.final !== true) return `${d._id} not final`;
  }
  return true;
}

Deno.test(
  "processor stores every reading once, windows exactly, dead-letters bad and late records, and a replay changes nothing",
  opts,
  async () => {
    const broker = await useKafka();
    const mongo = await useMongo();
    const t = topics();
    const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
    const admin = kafka.admin();
    const handles: ProcessorHandle[] = [];
    try {
      await admin.connect();
      await ensureTopics(admin, [{ topic: t.readings, numPartitions: 3 }]);
      const sensors = Array.from({ length: 12 }, (_, i) => sensorId(i + 1));
      const readings: SensorReading[] = [];
      for (let seq = 0; seq < 50; seq++) {
        for (const s of sensors) readings.push(reading(s, seq, T0 + seq * 1000 + 123));
      }
      const late = reading(sensors[0], 50, T0 + 5000);
      await send(kafka, t.readings, [
        ...readings.slice(0, 100),
        { key: "bad-1", value: "this is not json" },
        { key: "bad-2", value: JSON.stringify({ ...readings[0], sensor_type: "$plasma" }) },
        { key: "bad-3", value: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) },
        ...readings.slice(100),
        late,
      ]);

      const db = mongo.client.db(mongo.dbName);
      const options = baseOptions(broker.brokers, mongo.url, mongo.dbName, t);
      const p1 = await startProcessor(options);
      handles.push(p1);
      await p1.ready;

      const raw = db.collection(COLLECTIONS.readings);
      await waitFor(async () => (await raw.countDocuments()) === readings.length + 1, {
        what: "all raw readings",
        timeoutMs: 60_000,
      });
      const expected = expectedWindows(readings, [10, 60]);
      // The idle fallback moves the watermark on after the input stops, so every window ends final.
      let last: string | true = "";
      await waitFor(async () => (last = await checkWindows(db, expected, true)) === true, {
        what: "exact final windows",
        timeoutMs: 60_000,
      }).catch((e) => {
        throw new Error(`${(e as Error).message}: ${last}`);
      });

      const dead = await db.collection(COLLECTIONS.deadLetters).find({}).toArray();
      assert.deepEqual(dead.map((d) => d.reason).sort(), ["invalid_json", "invalid_schema", "invalid_utf8", "late"]);
      const lateDoc = dead.find((d) => d.reason === "late")!;
      assert.equal(lateDoc.origin.topic, t.readings);
      assert.match(lateDoc.detail, /watermark/);
      assert.ok(await raw.findOne({ _id: readingId(late) as never }), "a late reading is still stored raw");

      const dlq = await readTopic(kafka, t.deadLetters, 4);
      assert.equal(dlq.length, 4);
      const bad1 = dlq.find((m) => m.key === "bad-1")!;
      assert.equal(bad1.value?.toString(), "this is not json", "the DLQ keeps the original bytes");
      assert.equal(bad1.headers.reason, "invalid_json");
      assert.equal(bad1.headers["source.topic"], t.readings);
      assert.ok(/^\d+$/.test(bad1.headers["source.offset"]));
      const bad3 = dlq.find((m) => m.key === "bad-3")!;
      assert.deepEqual([...bad3.value!], [0x7b, 0xff, 0xfe, 0x7d]);
      assert.ok(dlq.some((m) => m.headers.reason === "late"));

      const s1 = p1.stats();
      assert.equal(s1.consumed, readings.length + 4);
      assert.equal(s1.invalid, 3);
      assert.equal(s1.late, 1);
      assert.equal(s1.stored, readings.length + 1);
      // Every consumed record ends in exactly one counted outcome.
      const sum = (o: Record<string, number>) => Object.values(o).reduce((x, y) => x + y, 0);
      assert.equal(sum(s1.outcomes), s1.consumed, `outcomes ${JSON.stringify(s1.outcomes)}`);
      assert.deepEqual(s1.outcomes, { dead_lettered: 3, late: 1, stored: readings.length });
      await waitFor(async () => {
        const st = await db.collection(COLLECTIONS.pipelineStats).findOne({
          _id: `processor:${options.instance}` as never,
        });
        return st?.totals.consumed === readings.length + 4 && st.totals.outcome_stored === readings.length;
      }, { what: "pipeline_stats heartbeat" });
      await p1.stop();
      handles.pop();

      const names = [COLLECTIONS.readings, COLLECTIONS.windows, COLLECTIONS.events, COLLECTIONS.deadLetters];
      const before = await snapshot(db, names);

      // Replay every offset with a new group on the same database.
      const p2 = await startProcessor({ ...options, groupId: uniqueName("replay"), instance: uniqueName("inst") });
      handles.push(p2);
      await p2.ready;
      await waitFor(() => {
        const s = p2.stats();
        const committed = Object.values(s.committed).reduce((a, b) => a + b, 0);
        return s.consumed === readings.length + 4 && committed === readings.length + 4;
      }, { what: "the replay to be consumed and committed", timeoutMs: 60_000 });
      await new Promise((r) => setTimeout(r, 2500)); // idle fallback and timers have run
      await p2.stop();
      handles.pop();
      assert.equal(p2.stats().stored, 0, "the replay inserted nothing");
      const s2 = p2.stats();
      assert.equal(sum(s2.outcomes), s2.consumed, `replay outcomes ${JSON.stringify(s2.outcomes)}`);
      assert.equal(s2.outcomes.stored ?? 0, 0);
      assert.equal(s2.outcomes.duplicate, readings.length, "the same readings from records of another run");
      const after = await snapshot(db, names);
      for (const n of names) assert.equal(after[n], before[n], `${n} unchanged by the replay`);
    } finally {
      for (const h of handles) await h.stop().catch(() => {});
      await admin.deleteTopics({ topics: [t.readings, t.deadLetters, t.alerts] }).catch(() => {});
      await admin.disconnect().catch(() => {});
      await mongo.close();
      await broker.close();
    }
  },
);

Deno.test(
  "incidents open when a condition persists, group rules, resolve after the hold, keep acknowledgement, are announced; every anomalous reading is an event",
  opts,
  async () => {
    const broker = await useKafka();
    const mongo = await useMongo();
    const t = topics();
    const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
    let handle: ProcessorHandle | undefined;
    try {
      const db = mongo.client.db(mongo.dbName);
      const incidents = db.collection(COLLECTIONS.incidents);
      const events = db.collection(COLLECTIONS.events);
      const options: StartProcessorOptions = {
        ...baseOptions(broker.brokers, mongo.url, mongo.dbName, t),
        idleMs: 60_000,
        detectors: { silenceSeconds: 3 },
        // Threshold incidents after 3 readings in a row, cleared by 2 clear readings over 2 s.
        incidentRules: sensorPolicy({ threshold: { for: { readings: 3 }, clear: { readings: 2, ms: 2000 } } }),
      };
      handle = await startProcessor(options);
      await handle.ready;
      const hot = sensorId(1); // temperature: normal band 15–25 °C
      const flat = sensorId(7); // temperature too, for the stuck rule
      let seq = 0;
      const at = (i: number) => T0 + i * 1000;
      // Phase 1: normal, a single spike (an event, no incident), then three readings above the band.
      const phase1 = [
        ...[0, 1].map((i) => reading(hot, seq++, at(i), 20)),
        reading(hot, seq++, at(2), 27),
        ...[3, 4].map((i) => reading(hot, seq++, at(i), 20)),
        ...[5, 6, 7].map((i) => reading(hot, seq++, at(i), 27)),
      ];
      await send(kafka, t.readings, phase1);
      const first = await waitFor(
        () => orUndefined(incidents.findOne({ sensor_id: hot, "rules.threshold.count": 3 })),
        { what: "threshold incident with count 3" },
      );
      assert.equal(first.state, "firing");
      assert.equal(first.rule, "threshold");
      assert.equal(first.severity, "warning");
      assert.equal(first.threshold, 25);
      assert.equal(first.value, 27);
      assert.equal(first.acknowledged, false);
      assert.equal(first.first_seen.getTime(), at(5), "the spike at 2 s is not part of it");
      assert.equal(first.last_seen.getTime(), at(7));
      assert.equal(first._id, `${hot}|${at(7)}`);
      assert.match(first.message, /above the normal band/);
      const spike = await waitFor(
        () => orUndefined(events.findOne({ _id: readingId({ sensor_id: hot, timestamp: at(2) }) as never })),
        {
          what: "the spike's event",
        },
      );
      assert.equal(spike.alert_type, "threshold");
      assert.equal(spike.timestamp.getTime(), at(2));
      assert.equal(await events.countDocuments({ sensor_id: hot }), 4, "one event per anomalous reading");
      // The web app acknowledges it; the processor must keep that, also across a restart (open incidents reloaded).
      await incidents.updateOne({ _id: first._id }, { $set: { acknowledged: true, acknowledged_by: "op" } });
      await handle.stop();
      handle = await startProcessor(options);
      await handle.ready;

      // Phase 2: one more hot reading (same incident), then normal for longer than the hold: resolved.
      const phase2 = [
        reading(hot, seq++, at(8), 40),
        ...[9, 10, 11, 12, 13].map((i) => reading(hot, seq++, at(i), 20)),
        ...Array.from({ length: 25 }, (_, i) => reading(flat, i, at(i), 21.5)),
      ];
      await send(kafka, t.readings, phase2);
      const resolved = await waitFor(
        () => orUndefined(incidents.findOne({ _id: first._id, state: "resolved" })),
        { what: "resolved incident" },
      );
      assert.ok(resolved.count >= 4, "the 40 °C reading counted (rate of change may have joined)");
      assert.equal(resolved.rules.threshold.count, 4);
      assert.equal(resolved.severity, "critical", "40 °C is far above the band");
      assert.equal(resolved.acknowledged, true, "acknowledgement kept");
      assert.equal(resolved.acknowledged_by, "op");
      assert.equal(resolved.resolved_at.getTime(), at(11), "resolved once clear for the 2 s hold");
      const stuck = await waitFor(
        () => orUndefined(incidents.findOne({ sensor_id: flat, "rules.stuck": { $exists: true } })),
        {
          what: "stuck incident",
        },
      );
      assert.equal(stuck.state, "firing");
      assert.equal(stuck.rules.stuck.count, 25 - 20 + 1);
      assert.equal(stuck.rules.threshold, undefined);

      // Phase 3: hot again: a second incident for the same sensor.
      await send(kafka, t.readings, [28, 29, 30].map((v, i) => reading(hot, seq++, at(14 + i), v)));
      await waitFor(
        async () => (await incidents.countDocuments({ sensor_id: hot })) === 2,
        { what: "second incident" },
      );
      assert.equal(await incidents.countDocuments({ sensor_id: hot, state: "firing" }), 1);

      // Silence: no reading for 3 s joins the silence rule to the open incident (wall clock).
      await waitFor(() => orUndefined(incidents.findOne({ sensor_id: hot, "rules.silence.active": true })), {
        what: "silence rule",
        timeoutMs: 15_000,
      });

      const announced = (await readTopic(kafka, t.alerts, 5)).map((e) => JSON.parse(e.value!.toString()));
      const firstEvents = announced.filter((e) => e.groupKey === first._id).map((e) => e.event);
      assert.equal(firstEvents[0], "opened");
      assert.equal(firstEvents.at(-1), "resolved");
      assert.ok(firstEvents.slice(1, -1).every((e) => e === "updated"), firstEvents.join());
      assert.equal(announced.filter((e) => e.incident.sensor_id === hot && e.event === "opened").length, 2);
      const opened = announced.find((e) => e.event === "opened")!;
      assert.equal(opened.version, "4");
      assert.equal(opened.status, "firing");
      assert.equal(opened.alerts[0].labels.alertname, "threshold");
      assert.equal(opened.commonLabels.sensor_id, hot);
      assert.ok(announced.some((e) => e.incident.rules.stuck));
    } finally {
      await handle?.stop().catch(() => {});
      const admin = kafka.admin();
      await admin.connect().catch(() => {});
      await admin.deleteTopics({ topics: [t.readings, t.deadLetters, t.alerts] }).catch(() => {});
      await admin.disconnect().catch(() => {});
      await mongo.close();
      await broker.close();
    }
  },
);

Deno.test("two instances in one group split the partitions and together store everything once", opts, async () => {
  const broker = await useKafka();
  const mongo = await useMongo();
  const t = topics();
  const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
  const admin = kafka.admin();
  const handles: ProcessorHandle[] = [];
  try {
    await admin.connect();
    await ensureTopics(admin, [{ topic: t.readings, numPartitions: 4 }]);
    const options = { ...baseOptions(broker.brokers, mongo.url, mongo.dbName, t), partitions: 4 };
    const a = await startProcessor({ ...options, instance: "a" });
    handles.push(a);
    const b = await startProcessor({ ...options, instance: "b" });
    handles.push(b);
    await waitFor(() => {
      const pa = a.stats().assigned;
      const pb = b.stats().assigned;
      return pa.length > 0 && pb.length > 0 && new Set([...pa, ...pb]).size === 4 && pa.length + pb.length === 4;
    }, { what: "both instances to own partitions", timeoutMs: 60_000 });

    const sensors = Array.from({ length: 40 }, (_, i) => sensorId(i + 1));
    const readings: SensorReading[] = [];
    for (let seq = 0; seq < 50; seq++) for (const s of sensors) readings.push(reading(s, seq, T0 + seq * 1000));
    await send(kafka, t.readings, readings);

    const db = mongo.client.db(mongo.dbName);
    await waitFor(async () => (await db.collection(COLLECTIONS.readings).countDocuments()) === readings.length, {
      what: "all raw readings",
      timeoutMs: 60_000,
    });
    const expected = expectedWindows(readings, [10, 60]);
    let last: string | true = "";
    await waitFor(async () => (last = await checkWindows(db, expected, true)) === true, {
      what: "exact windows across instances",
      timeoutMs: 60_000,
    }).catch((e) => {
      throw new Error(`${(e as Error).message}: ${last}`);
    });
    assert.equal(a.stats().late + b.stats().late, 0);
    assert.ok(a.stats().consumed > 0 && b.stats().consumed > 0, "both instances did work");
    assert.equal(a.stats().consumed + b.stats().consumed, readings.length, "each record processed once");
    assert.equal(a.stats().stored + b.stats().stored, readings.length);
  } finally {
    for (const h of handles) await h.stop().catch(() => {});
    await admin.deleteTopics({ topics: [t.readings, t.deadLetters, t.alerts] }).catch(() => {});
    await admin.disconnect().catch(() => {});
    await mongo.close();
    await broker.close();
  }
});
