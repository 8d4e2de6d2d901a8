/**
 * Scenario 5: a second processor joins the group during the stream, then the
 * first one leaves (SIGTERM); partitions move twice while the producer runs.
 * Totals must be exact.
 */
import assert from "node:assert/strict";
import { useKafka, waitFor } from "../../dev/testing.ts";
import { openScenario, produceKnownSet, summary, TEST_OPTIONS, waitCaughtUp } from "./harness.ts";
import { expectedFromSequences, reportNumbers, verifyPipeline } from "./verify.ts";

const RECORDS = 15_000;
const RATE = 1000;

function partitionsOf(body: Record<string, unknown> | undefined): number[] {
  return Array.isArray(body?.partitions) ? (body.partitions as number[]) : [];
}

Deno.test("5. rebalance: a processor joins and another leaves mid-stream; totals exact", TEST_OPTIONS, async () => {
  const broker = await useKafka();
  const s = await openScenario("rebalance", broker.brokers);
  let producer: ReturnType<typeof produceKnownSet> | undefined;
  try {
    const first = await s.startProcessor();
    await first.waitHealthy();
    producer = produceKnownSet({
      brokers: s.brokers,
      topic: s.names.readings,
      rate: RATE,
      count: RECORDS,
      sensors: 60,
      seed: 505,
    });
    const known = producer;
    const stored = (fraction: number) =>
      waitFor(async () => {
        known.check();
        return (await s.storedCount()) >= RECORDS * fraction;
      }, { timeoutMs: 60_000, what: `${fraction * 100} % of the readings stored` });

    await stored(0.2);
    const second = await s.startProcessor();
    // Both members hold partitions: the group rebalanced to share the three.
    const shared = await waitFor(async () => {
      const [a, b] = await Promise.all([first.health(), second.health()]);
      const pa = partitionsOf(a?.body);
      const pb = partitionsOf(b?.body);
      return a?.status === 200 && b?.status === 200 && pa.length > 0 && pb.length > 0 && pa.length + pb.length === 3
        ? { first: pa, second: pb }
        : false;
    }, { timeoutMs: 90_000, intervalMs: 250, what: "both processors to share the partitions" });

    await stored(0.5);
    const status = await first.terminate();
    assert.equal(status.code, 0, `the leaving processor exits 0:\n${first.proc.tail(20)}`);
    const taken = await waitFor(async () => {
      const h = await second.health();
      const p = partitionsOf(h?.body);
      return h?.status === 200 && p.length === 3 ? p : false;
    }, { timeoutMs: 60_000, intervalMs: 250, what: "the remaining processor to take all partitions" });

    const result = await known.done;
    assert.equal(result.failed, 0, "the producer had every record acknowledged");
    const expected = expectedFromSequences(result.sequences);
    await waitCaughtUp(s.admin, {
      group: s.names.group,
      topic: s.names.readings,
      extra: async () => (await s.storedCount()) >= RECORDS,
    });
    const report = await verifyPipeline({
      db: s.db,
      expected,
      kafka: s.kafka,
      deadLetterTopic: s.names.deadLetters,
      alertTopic: s.names.alerts,
    });
    summary("5-rebalance", {
      records: RECORDS,
      faults: { joined: 1, left: 1, rebalances: 2 },
      shared,
      takenOver: taken,
      firstConsumed: first.stoppedTotals()?.consumed,
      secondConsumed: await second.metric("processor_consumed_total"),
      ...reportNumbers(report),
    });
    assert.deepEqual(report.problems, []);
    assert.equal(report.stored, RECORDS);
  } catch (e) {
    throw s.annotate(e);
  } finally {
    producer?.handle.stop();
    await producer?.done.catch(() => {});
    await s.close();
  }
});
