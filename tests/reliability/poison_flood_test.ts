/**
 * Scenario 11: a flood of poison. 100,000 invalid records of mixed kinds
 * (malformed JSON, wrong schema, out of range, invalid UTF-8, and some of
 * several hundred kB), produced fast in big batches, then valid readings.
 * The DLQ topic is created with a `max.message.bytes` below the largest
 * records, so those are published truncated. Every valid reading must be
 * stored, every invalid record dead-lettered (topic and `dead_letters`), and
 * the processor must not stall: every consumed record ends in one outcome.
 */
import assert from "node:assert/strict";
import { COLLECTIONS, ensureTopics, readingId, SENSOR_RANGES, sensorId, sensorProfile } from "@iot/shared";
import { useKafka } from "../../dev/testing.ts";
import { openScenario, summary, TEST_OPTIONS, topicSize, waitCaughtUp } from "./harness.ts";

const INVALID = 100_000;
const LARGE = 60;
const LARGE_BYTES = 300_000;
const VALID_SENSORS = 20;
const VALID_PER_SENSOR = 100;
const DLQ_MAX_MESSAGE_BYTES = 200_000;

const enc = new TextEncoder();

function validValue(index: number, seq: number, t: number): string {
  const p = sensorProfile(sensorId(index));
  const r = SENSOR_RANGES[p.sensorType];
  return JSON.stringify({
    sensor_id: p.sensorId,
    sensor_type: p.sensorType,
    value: (r.normalMin + r.normalMax) / 2,
    location: p.location,
    timestamp: new Date(t).toISOString(),
    status: "normal",
    seq,
    metadata: { unit: p.unit, sensor_model: p.model, battery_level: 80 },
  });
}

/** The i-th small invalid record: the kinds rotate. */
function smallPoison(i: number, valid: string): Buffer {
  switch (i % 5) {
    case 0:
      return Buffer.from(`{"sensor_id":"sensor_${i}","value":`);
    case 1:
      return Buffer.from(JSON.stringify({ n: i }));
    case 2:
      return Buffer.from(valid.replace(/"value":[^,]+/, `"value":${1e9 + i}`));
    case 3:
      return Buffer.from(valid.replace(/"sensor_type":"[^"]+"/, '"sensor_type":"$plasma"'));
    default: {
      const b = enc.encode(valid);
      const out = new Uint8Array(b.length + 2);
      out.set(b.subarray(0, 20));
      out.set([0xc3, 0x28], 20);
      out.set(b.subarray(20), 22);
      return Buffer.from(out);
    }
  }
}

Deno.test(
  "11. poison flood: 100k invalid records dead-lettered, the valid ones after them stored, no stall",
  { ...TEST_OPTIONS },
  async () => {
    const broker = await useKafka();
    const s = await openScenario("flood", broker.brokers);
    const producer = s.kafka.producer({ allowAutoTopicCreation: false });
    try {
      await ensureTopics(s.admin, [{
        topic: s.names.deadLetters,
        numPartitions: 3,
        configs: { "max.message.bytes": String(DLQ_MAX_MESSAGE_BYTES) },
      }]);
      await producer.connect();
      const valid = validValue(1, 0, Date.now());
      // Small poison in sends of 5000; the large ones two per send (each send stays below the broker's 1 MB).
      for (let i = 0; i < INVALID - LARGE; i += 5000) {
        const n = Math.min(5000, INVALID - LARGE - i);
        await producer.send({
          topic: s.names.readings,
          acks: -1,
          messages: Array.from({ length: n }, (_, k) => ({ key: `poison-${i + k}`, value: smallPoison(i + k, valid) })),
        });
      }
      const big = Buffer.from(JSON.stringify({ pad: "x".repeat(LARGE_BYTES) }));
      for (let i = 0; i < LARGE; i += 2) {
        await producer.send({
          topic: s.names.readings,
          acks: -1,
          messages: [{ key: `large-${i}`, value: big }, { key: `large-${i + 1}`, value: big }],
        });
      }
      const expected: string[] = [];
      const t0 = Date.now();
      const messages = [];
      for (let seq = 0; seq < VALID_PER_SENSOR; seq++) {
        for (let i = 1; i <= VALID_SENSORS; i++) {
          const value = validValue(i, seq, t0 + seq * 10);
          messages.push({ key: sensorId(i), value });
          expected.push(readingId(JSON.parse(value)));
        }
      }
      await producer.send({ topic: s.names.readings, acks: -1, messages });

      const started = performance.now();
      const processor = await s.startProcessor();
      await processor.waitHealthy();
      await waitCaughtUp(s.admin, {
        group: s.names.group,
        topic: s.names.readings,
        timeoutMs: 80_000,
        extra: async () => (await s.storedCount()) >= expected.length,
      });
      const drainS = (performance.now() - started) / 1000;
      const stored = await s.storedCount();
      const letters = await s.db.collection(COLLECTIONS.deadLetters).countDocuments();
      const inDlq = await topicSize(s.admin, s.names.deadLetters);
      const consumed = await processor.metric("processor_consumed_total");
      const outcomes = await processor.metric("processor_records_total");
      const truncated = await processor.metric("processor_dead_letters_truncated_total");
      summary("11-poison-flood", {
        records: INVALID + expected.length,
        faults: { invalid: INVALID, large: LARGE },
        drainS: Math.round(drainS * 10) / 10,
        stored,
        deadLetters: letters,
        dlqTopic: inDlq,
        truncated,
      });
      assert.ok(!processor.proc.exited, "the processor keeps running");
      assert.equal(stored, expected.length, "every valid reading after the flood stored");
      assert.equal(letters, INVALID, "every invalid record in dead_letters");
      assert.equal(inDlq, INVALID, "every invalid record in the DLQ topic");
      assert.equal(truncated, LARGE, "the records above the DLQ topic's limit were published truncated");
      assert.equal(outcomes, consumed, "every consumed record ended in one counted outcome");
      assert.equal(consumed, INVALID + expected.length);
    } catch (e) {
      throw s.annotate(e);
    } finally {
      await producer.disconnect().catch(() => {});
      await s.close();
    }
  },
);
