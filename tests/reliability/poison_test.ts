/**
 * Scenario 6: poison input between valid readings. Every bad record must land
 * in the dead-letter topic (and `dead_letters`) with the right reason and its
 * origin, the processor must keep running, and the valid readings around the
 * bad ones must be stored exactly once.
 *
 * A null key with a valid reading is not poison: the reading carries its
 * sensor id, so it is stored (rejecting it would lose valid data). A null key
 * with a bad value is dead-lettered with `origin.key` null.
 */
import assert from "node:assert/strict";
import { COLLECTIONS, SENSOR_RANGES, sensorId, sensorProfile, type SensorReading } from "@iot/shared";
import { useKafka } from "../../dev/testing.ts";
import { openScenario, summary, TEST_OPTIONS, waitCaughtUp } from "./harness.ts";
import { reportNumbers, verifyPipeline } from "./verify.ts";

const SENSORS = 12;
const PER_ROUND = 4;
const ONE_MB = 1_000_000;

/** A valid reading of sensor number `index`, value inside the normal band. */
function validReading(index: number, seq: number, t: number): SensorReading {
  const p = sensorProfile(sensorId(index));
  const r = SENSOR_RANGES[p.sensorType];
  return {
    sensor_id: p.sensorId,
    sensor_type: p.sensorType,
    value:
      Math.round(((r.normalMin + r.normalMax) / 2 + Math.sin(seq + index) * (r.normalMax - r.normalMin) * 0.1) * 100) /
      100,
    location: p.location,
    timestamp: new Date(t).toISOString(),
    status: "normal",
    seq,
    metadata: { unit: p.unit, sensor_model: p.model, battery_level: 80 },
  };
}

interface Poison {
  name: string;
  reason: string;
  key: string | null;
  value: Uint8Array | string | null;
}

const enc = new TextEncoder();

function poisons(t: number): Poison[] {
  const base = validReading(1, 999_000, t) as unknown as Record<string, unknown>;
  const temperature = sensorId(1); // index 1 is a temperature sensor (types cycle from temperature)
  const { timestamp: _t, seq: _s, ...missing } = base;
  const json = JSON.stringify(base);
  const bad = enc.encode(json);
  const utf8 = new Uint8Array(bad.length + 2);
  const at = json.indexOf("sensor_model") + 15;
  utf8.set(bad.subarray(0, at));
  utf8.set([0xc3, 0x28], at); // an invalid two-byte sequence inside a string
  utf8.set(bad.subarray(at), at + 2);
  return [
    { name: "malformed JSON", reason: "invalid_json", key: temperature, value: '{"sensor_id":"sensor_0001","value":' },
    { name: "not an object", reason: "invalid_schema", key: temperature, value: "[1,2,3]" },
    {
      name: "wrong type",
      reason: "invalid_schema",
      key: temperature,
      value: JSON.stringify({ ...base, value: "21.5" }),
    },
    { name: "missing fields", reason: "invalid_schema", key: temperature, value: JSON.stringify(missing) },
    {
      name: "unusable sensor type name",
      reason: "invalid_schema",
      key: temperature,
      value: JSON.stringify({ ...base, sensor_type: "$plasma" }),
    },
    {
      name: "non-finite value",
      reason: "invalid_schema",
      key: temperature,
      value: json.replace(/"value":[^,]+/, '"value":1e999'),
    },
    {
      name: "out of physical range",
      reason: "out_of_range",
      key: temperature,
      value: JSON.stringify({ ...base, value: SENSOR_RANGES.temperature.max + 450 }),
    },
    {
      name: "1 MB payload",
      reason: "too_large",
      key: temperature,
      value: JSON.stringify({ pad: "x".repeat(ONE_MB - 10) }),
    },
    { name: "invalid UTF-8", reason: "invalid_utf8", key: temperature, value: utf8 },
    { name: "empty value", reason: "invalid_json", key: temperature, value: null },
    { name: "null key, bad value", reason: "invalid_json", key: null, value: "not json at all" },
  ];
}

Deno.test(
  "6. poison input: each bad record is dead-lettered with its reason; valid ones around it stored",
  TEST_OPTIONS,
  async () => {
    const broker = await useKafka();
    const s = await openScenario("poison", broker.brokers);
    const producer = s.kafka.producer({ allowAutoTopicCreation: false });
    try {
      await producer.connect();
      const processor = await s.startProcessor();
      await processor.waitHealthy();

      const expected: string[] = [];
      const sent: { poison: Poison; source: string }[] = [];
      let seq = 0;
      let nextT = 0;
      const sendValid = async (nullKeyFor?: number) => {
        // Each sensor's event times strictly increase (the reading id is sensor id and event time).
        const t = Math.max(Date.now(), nextT);
        nextT = t + PER_ROUND;
        const readings: SensorReading[] = [];
        for (let r = 0; r < PER_ROUND; r++, seq++) {
          for (let i = 1; i <= SENSORS; i++) readings.push(validReading(i, seq, t + r));
        }
        await producer.send({
          topic: s.names.readings,
          acks: -1,
          messages: readings.map((r, n) => ({ key: n === nullKeyFor ? null : r.sensor_id, value: JSON.stringify(r) })),
        });
        for (const r of readings) expected.push(`${r.sensor_id}:${r.seq}`); // the verifier's (sensor_id, seq) key
      };

      await sendValid();
      const list = poisons(Date.now());
      for (const [i, p] of list.entries()) {
        const [meta] = await producer.send({
          topic: s.names.readings,
          acks: -1,
          messages: [{
            key: p.key,
            value: typeof p.value === "string" || p.value === null ? p.value : Buffer.from(p.value),
          }],
        });
        sent.push({ poison: p, source: `${s.names.readings}:${meta.partition}:${meta.baseOffset}` });
        // Valid readings between every two bad ones; one round carries a null key on a valid reading.
        await sendValid(i === 3 ? 5 : undefined);
      }

      await waitCaughtUp(s.admin, {
        group: s.names.group,
        topic: s.names.readings,
        timeoutMs: 90_000,
        extra: async () => (await s.storedCount()) >= expected.length,
      });
      const health = await processor.health();
      const report = await verifyPipeline({
        db: s.db,
        expected,
        kafka: s.kafka,
        deadLetterTopic: s.names.deadLetters,
        alertTopic: s.names.alerts,
      });
      summary("6-poison", {
        records: expected.length + list.length,
        faults: { poison: list.length, validWithNullKey: 1 },
        ...reportNumbers(report),
      });

      assert.ok(!processor.proc.exited, "the processor keeps running");
      assert.equal(health?.status, 200, "the processor is healthy after the poison");
      assert.deepEqual(report.problems, []);
      assert.equal(report.stored, expected.length, "every valid reading stored, including the null-keyed one");
      const letters = new Map(report.letters.map((l) => [l.source, l]));
      for (const { poison, source } of sent) {
        const l = letters.get(source);
        assert.ok(l, `${poison.name}: dead-lettered (${source})`);
        assert.equal(l.reason, poison.reason, `${poison.name}: reason (detail: ${l.detail})`);
        assert.ok(l.detail.length > 0, `${poison.name}: a detail`);
        assert.equal(l.key, poison.key, `${poison.name}: original key kept`);
        const size = poison.value === null
          ? 0
          : typeof poison.value === "string"
          ? enc.encode(poison.value).length
          : poison.value.length;
        assert.equal(l.size, size, `${poison.name}: original value kept`);
      }
      assert.equal(report.deadLetters, list.length, "nothing else was dead-lettered");
      const docs = await s.db.collection(COLLECTIONS.deadLetters).find({ "origin.key": null }).toArray();
      assert.equal(docs.length, 1, "the null key is kept as null in dead_letters");
    } catch (e) {
      throw s.annotate(e);
    } finally {
      await producer.disconnect().catch(() => {});
      await s.close();
    }
  },
);
