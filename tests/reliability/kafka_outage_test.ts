/**
 * Scenario 3: the Kafka broker stopped for 10 s and restarted (same data
 * directory and port) while the producer and the processor run. The producer
 * must retry and have every record acknowledged, the processor must resume,
 * and MongoDB must end up exact.
 */
import assert from "node:assert/strict";
import { ownKafka, waitFor } from "../../dev/testing.ts";
import { openScenario, produceKnownSet, sleep, summary, TEST_OPTIONS, topicOrder, waitCaughtUp } from "./harness.ts";
import { expectedFromSequences, reportNumbers, verifyPipeline } from "./verify.ts";

const RECORDS = 15_000;
const RATE = 1000;
const OUTAGE_MS = 10_000;

Deno.test({
  name: "3. Kafka broker down for 10 s while producing and processing: totals exact",
  ...TEST_OPTIONS,
}, async () => {
  const broker = await ownKafka();
  const local = broker.local!;
  let s: Awaited<ReturnType<typeof openScenario>> | undefined;
  let producer: ReturnType<typeof produceKnownSet> | undefined;
  try {
    s = await openScenario("kafka-down", broker.brokers);
    const scenario = s;
    const processor = await scenario.startProcessor();
    await processor.waitHealthy();
    producer = produceKnownSet({
      brokers: scenario.brokers,
      topic: scenario.names.readings,
      rate: RATE,
      count: RECORDS,
      sensors: 60,
      seed: 303,
      // The producer reaches its count while the broker is still down, and the restart (a JVM start on a loaded
      // machine) can take longer than the default 30 s flush: wait as long as the delivery timeout (120 s) allows.
      flushTimeoutMs: 120_000,
    });
    const known = producer;
    await waitFor(async () => {
      known.check();
      return (await scenario.storedCount()) >= RECORDS * 0.2;
    }, { timeoutMs: 60_000, what: "20 % of the readings stored" });

    const before = known.handle.current();
    const stoppingAt = Date.now();
    await local.stop();
    await sleep(OUTAGE_MS);
    const duringOutage = known.handle.current();
    const processorAlive = !processor.proc.exited;
    await local.start();
    // From the start of the controlled shutdown until the restarted broker accepts connections.
    const downMs = Date.now() - stoppingAt;

    const result = await known.done;
    assert.equal(result.failed, 0, "every record was acknowledged after the producer's retries");
    const expected = expectedFromSequences(result.sequences);
    assert.equal(expected.length, RECORDS);
    await waitCaughtUp(scenario.admin, {
      group: scenario.names.group,
      topic: scenario.names.readings,
      timeoutMs: 120_000,
      extra: async () => (await scenario.storedCount()) >= RECORDS,
    });
    const report = await verifyPipeline({
      db: scenario.db,
      expected,
      kafka: scenario.kafka,
      deadLetterTopic: scenario.names.deadLetters,
      alertTopic: scenario.names.alerts,
    });
    // The verifier's "nothing is late" rests on the producer keeping each sensor's order across its retries.
    const order = await topicOrder(scenario.kafka, scenario.names.readings);
    summary("3-kafka-outage", {
      records: RECORDS,
      faults: { broker_unavailable_ms: downMs },
      acknowledgedBeforeStop: before.total,
      acknowledgedDuringOutage: duringOutage.total - before.total,
      producerErrors: result.stats.errors,
      topicOutOfOrder: order.outOfOrderCount,
      topicMaxBackwardsMs: order.maxBackwardsMs,
      producerWarnings: known.warnings.length,
      producerFirstWarning: known.warnings.length ? JSON.parse(known.warnings[0]).msg : undefined,
      ...reportNumbers(report),
    });
    assert.ok(known.warnings.length > 0, "the producer reported the outage in its log");
    assert.deepEqual(order.outOfOrder, [], "the producer kept every sensor's readings in order across its retries");
    assert.ok(processorAlive, "the processor survived the outage");
    assert.ok(!processor.proc.exited, "the processor is still running");
    assert.deepEqual(report.problems, []);
    assert.equal(report.stored, RECORDS);
  } catch (e) {
    throw s ? s.annotate(e) : e;
  } finally {
    producer?.handle.stop();
    await producer?.done.catch(() => {});
    await s?.close();
    await broker.close();
  }
});
