/**
 * Scenarios 1 and 2: the processor SIGKILLed mid-stream and restarted, and
 * the processor SIGTERMed (drain, commit) and restarted. The producer keeps
 * producing a known, seeded set throughout; afterwards MongoDB must hold every
 * reading exactly once, exact window counts and no duplicated alert.
 */
import assert from "node:assert/strict";
import { useKafka, waitFor } from "../../dev/testing.ts";
import {
  committedTotal,
  openScenario,
  produceKnownSet,
  sleep,
  summary,
  TEST_OPTIONS,
  topicSize,
  waitCaughtUp,
} from "./harness.ts";
import { expectedFromSequences, reportNumbers, verifyPipeline } from "./verify.ts";

const RECORDS = 10_000;
const RATE = 1000;
const SENSORS = 60;

Deno.test("1. processor SIGKILLed mid-stream and restarted: nothing lost, nothing doubled", TEST_OPTIONS, async () => {
  const broker = await useKafka();
  const s = await openScenario("kill", broker.brokers);
  const producer = produceKnownSet({
    brokers: s.brokers,
    topic: s.names.readings,
    rate: RATE,
    count: RECORDS,
    sensors: SENSORS,
    seed: 101,
  });
  try {
    const first = await s.startProcessor();
    await first.waitHealthy();
    const storedBeforeKill = await waitFor(async () => {
      producer.check();
      const n = await s.storedCount();
      return n >= RECORDS * 0.3 ? n : false;
    }, { timeoutMs: 60_000, what: "30 % of the readings stored" });
    const status = await first.kill();
    assert.equal(status.signal, "SIGKILL");
    const committedAtKill = await committedTotal(s.admin, s.names.group, s.names.readings);
    const storedAtKill = await s.storedCount();
    await sleep(1000);

    const second = await s.startProcessor();
    await second.waitHealthy();
    const result = await producer.done;
    assert.equal(result.failed, 0, "the producer had every record acknowledged");
    const expected = expectedFromSequences(result.sequences);
    assert.equal(expected.length, RECORDS);
    await waitCaughtUp(s.admin, {
      group: s.names.group,
      topic: s.names.readings,
      extra: async () => (await s.storedCount()) >= RECORDS,
    });
    const inTopic = await topicSize(s.admin, s.names.readings);
    const consumedAfter = await second.metric("processor_consumed_total") ?? -1;

    const report = await verifyPipeline({
      db: s.db,
      expected,
      kafka: s.kafka,
      deadLetterTopic: s.names.deadLetters,
      alertTopic: s.names.alerts,
    });
    summary("1-sigkill", {
      records: RECORDS,
      faults: { sigkill: 1 },
      storedBeforeKill,
      committedAtKill,
      storedAtKill,
      // Stored but not yet committed when killed: read again by the restart and absorbed by the idempotent writes.
      replayedIdempotently: storedAtKill - committedAtKill,
      ...reportNumbers(report),
    });
    assert.deepEqual(report.problems, []);
    assert.equal(report.stored, RECORDS);
    assert.equal(consumedAfter, inTopic - committedAtKill, "the restart resumed at the committed offsets");
    assert.equal(await second.health().then((h) => h?.status), 200, "the restarted processor is healthy");
  } catch (e) {
    throw s.annotate(e);
  } finally {
    producer.handle.stop();
    await producer.done.catch(() => {});
    await s.close();
  }
});

Deno.test(
  "2. processor SIGTERMed: it drains and commits, exits 0; the restart reprocesses nothing",
  TEST_OPTIONS,
  async () => {
    const broker = await useKafka();
    const s = await openScenario("term", broker.brokers);
    const producer = produceKnownSet({
      brokers: s.brokers,
      topic: s.names.readings,
      rate: RATE,
      count: RECORDS,
      sensors: SENSORS,
      seed: 202,
    });
    try {
      const first = await s.startProcessor();
      await first.waitHealthy();
      await waitFor(async () => {
        producer.check();
        return (await s.storedCount()) >= RECORDS * 0.3;
      }, {
        timeoutMs: 60_000,
        what: "30 % of the readings stored",
      });
      const status = await first.terminate();
      assert.equal(status.code, 0, `processor exit code after SIGTERM:\n${first.proc.tail(20)}`);
      const totals = first.stoppedTotals();
      assert.ok(totals, `"Processor stopped" was logged:\n${first.proc.tail(20)}`);
      const committedAtStop = await committedTotal(s.admin, s.names.group, s.names.readings);
      const storedAtStop = await s.storedCount();
      assert.equal(committedAtStop, totals.consumed, "everything consumed before the stop was committed");
      assert.equal(storedAtStop, totals.consumed - totals.invalid, "everything consumed was stored");

      const second = await s.startProcessor();
      await second.waitHealthy();
      const result = await producer.done;
      assert.equal(result.failed, 0, "the producer had every record acknowledged");
      const expected = expectedFromSequences(result.sequences);
      await waitCaughtUp(s.admin, {
        group: s.names.group,
        topic: s.names.readings,
        extra: async () => (await s.storedCount()) >= RECORDS,
      });
      const inTopic = await topicSize(s.admin, s.names.readings);
      const consumedAfter = await second.metric("processor_consumed_total") ?? -1;
      const report = await verifyPipeline({
        db: s.db,
        expected,
        kafka: s.kafka,
        deadLetterTopic: s.names.deadLetters,
        alertTopic: s.names.alerts,
      });
      summary("2-sigterm", {
        records: RECORDS,
        faults: { sigterm: 1 },
        consumedBeforeStop: totals.consumed,
        committedAtStop,
        storedAtStop,
        consumedAfterRestart: consumedAfter,
        ...reportNumbers(report),
      });
      assert.deepEqual(report.problems, []);
      assert.equal(report.stored, RECORDS);
      assert.equal(consumedAfter, inTopic - committedAtStop, "the restart read only what came after the stop");
    } catch (e) {
      throw s.annotate(e);
    } finally {
      producer.handle.stop();
      await producer.done.catch(() => {});
      await s.close();
    }
  },
);
