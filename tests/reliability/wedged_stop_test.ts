/**
 * Scenario 12: a stop while a sink is wedged. The MongoDB-protocol server is
 * frozen (SIGSTOP: connections stay open, nothing answers) while readings
 * keep coming; then the processor gets SIGTERM. It must exit within its stop
 * deadline, non-zero because work was abandoned, without committing what was
 * not written. After the server thaws, a restarted processor reprocesses the
 * uncommitted records: every reading stored exactly once.
 */
import assert from "node:assert/strict";
import { useKafka, waitFor } from "../../dev/testing.ts";
import { committedTotal, openScenario, produceKnownSet, sleep, summary, TEST_OPTIONS } from "./harness.ts";
import { reportNumbers, verifyKnownSet } from "./verify.ts";

const RECORDS = 6000;
const RATE = 1000;
const SENSORS = 40;
const STOP_TIMEOUT_MS = 8000;

Deno.test(
  "12. stop while MongoDB is wedged: exits within the deadline, the restart loses and doubles nothing",
  TEST_OPTIONS,
  async () => {
    const broker = await useKafka();
    const s = await openScenario("wedged", broker.brokers);
    const producer = produceKnownSet({
      brokers: s.brokers,
      topic: s.names.readings,
      rate: RATE,
      count: RECORDS,
      sensors: SENSORS,
      seed: 1212,
    });
    const mongoPid = s.mongo.local?.pid;
    let frozen = false;
    try {
      assert.ok(mongoPid, "the scenario's MongoDB-protocol server is a local process");
      const env = { PROCESSOR_STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS) };
      const first = await s.startProcessor({ env });
      await first.waitHealthy();
      await waitFor(async () => {
        producer.check();
        return (await s.storedCount()) >= RECORDS * 0.2 &&
          (await committedTotal(s.admin, s.names.group, s.names.readings)) > 0;
      }, { timeoutMs: 60_000, what: "20 % of the readings stored and some committed" });

      Deno.kill(mongoPid, "SIGSTOP");
      frozen = true;
      await sleep(2000); // more records are fetched; none of their writes can finish
      const committedBefore = await committedTotal(s.admin, s.names.group, s.names.readings);
      const stopStarted = performance.now();
      const status = await first.terminate(STOP_TIMEOUT_MS + 20_000);
      const stopMs = performance.now() - stopStarted;
      const committedAfter = await committedTotal(s.admin, s.names.group, s.names.readings);
      Deno.kill(mongoPid, "SIGCONT");
      frozen = false;

      assert.equal(status.signal, null, `exited by itself, not killed:\n${first.proc.tail(20)}`);
      assert.equal(status.code, 1, `exit 1: work was abandoned:\n${first.proc.tail(20)}`);
      assert.ok(stopMs < STOP_TIMEOUT_MS + 3000, `stopped within the deadline (${Math.round(stopMs)} ms)`);
      assert.ok(first.logLines(/work abandoned/).length > 0, "it said what was not committed");
      assert.equal(committedAfter, committedBefore, "nothing committed past the wedged writes");

      const second = await s.startProcessor({ env });
      await second.waitHealthy();
      const report = await verifyKnownSet(s, producer, RECORDS);
      summary("12-wedged-stop", {
        records: RECORDS,
        faults: { mongo_wedged_stop: 1 },
        stopMs: Math.round(stopMs),
        stopTimeoutMs: STOP_TIMEOUT_MS,
        committedAtStop: committedAfter,
        ...reportNumbers(report),
      });
      assert.deepEqual(report.problems, []);
      assert.equal(report.stored, RECORDS);
    } catch (e) {
      throw s.annotate(e);
    } finally {
      if (frozen && mongoPid) Deno.kill(mongoPid, "SIGCONT");
      producer.handle.stop();
      await producer.done.catch(() => {});
      await s.close();
    }
  },
);
