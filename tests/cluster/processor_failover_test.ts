/**
 * The processor (library, `startProcessor`) on a local 3-node cluster while
 * one node fails and is restarted 10 s later: the group coordinator
 * SIGKILLed, the leader of a readings partition (not the coordinator)
 * SIGKILLed, and that leader SIGTERMed (controlled shutdown). In each run the
 * producer writes a known set at 500 msg/s (200 sensors) for 15 s (short:
 * one run each in `deno task test`). Every
 * distinct reading of the topic must then be stored in MongoDB exactly once;
 * the topic must hold every acknowledged reading once and each sensor's in
 * order; the readings must be distinct by (sensor, event time), which is how
 * the pipeline identifies them; and windows, alerts and dead letters must
 * agree (`verifyPipeline`). Printed as figures, not asserted: the longest
 * stretch without a new stored reading, the catch-up time, and per partition
 * the longest gap between appends after the fault (the topic stamps the
 * append time), between stored readings (`ingested_at`), and from append to
 * store.
 */
import assert from "node:assert/strict";
import { COLLECTIONS, createLogger, ensureTopics } from "@iot/shared";
import { type ProcessorHandle, startProcessor } from "../../processor/mod.ts";
import { useMongo, waitFor } from "../../dev/testing.ts";
import { produceKnownSet, readTopic, scenarioNames, summary, TEST_OPTIONS, testKafka } from "../reliability/harness.ts";
import { expectedFromSequences, verifyPipeline } from "../reliability/verify.ts";
import { checkTopic, clusterOnce, sleepUntil, storeTimings, within } from "./helpers.ts";

const cluster = clusterOnce();

const RATE = 500;
const SECONDS = 15;
const FAULT_AFTER_MS = 4000;
const RESTART_AFTER_MS = 10_000;
/** Generous bound for storing everything after the producer finished (15,000 readings take seconds). */
const CATCH_UP_BOUND_MS = 45_000;

/** One fault of a run: which node, and how it is stopped. */
interface Fault {
  name: string;
  /** The group coordinator, or the leader of a readings partition that is not the coordinator. */
  victim: "coordinator" | "leader";
  signal: "SIGKILL" | "SIGTERM";
  /** The processor is given only the victim's address to bootstrap from (the others it learns from metadata). */
  bootstrapOnly?: boolean;
}

const FAULTS: Fault[] = [
  { name: "coordinator-sigkill", victim: "coordinator", signal: "SIGKILL" },
  { name: "leader-sigkill", victim: "leader", signal: "SIGKILL" },
  { name: "leader-sigterm", victim: "leader", signal: "SIGTERM" },
  { name: "bootstrap-sigkill", victim: "leader", signal: "SIGKILL", bootstrapOnly: true },
];

for (const fault of FAULTS) {
  Deno.test({
    name: `processor: ${fault.signal} of ${
      fault.bootstrapOnly
        ? "its only bootstrap broker (a partition leader)"
        : fault.victim === "coordinator"
        ? "its group coordinator"
        : "a partition leader"
    } while consuming; every reading stored once`,
    ...TEST_OPTIONS,
  }, () => failoverRun(fault));
}

Deno.test({ name: "the cluster stops after the runs", ...TEST_OPTIONS }, async () => {
  const c = await cluster();
  await c.dispose(30_000);
  assert.equal(c.running, false, "no node is left running");
});

async function failoverRun(fault: Fault): Promise<void> {
  {
    const c = await cluster();
    const mongo = await useMongo();
    const names = scenarioNames(`cluster-${fault.name}`);
    const db = mongo.client.db(names.db);
    const kafka = await testKafka(c.brokerList);
    const admin = kafka.admin();
    const logLines: string[] = [];
    let processor: ProcessorHandle | undefined;
    let run: ReturnType<typeof produceKnownSet> | undefined;
    let victim = -1;
    try {
      await admin.connect();
      await ensureTopics(admin, [
        // Append times in the log: the per-partition gaps and append-to-store delays are read from them.
        { topic: names.readings, numPartitions: 3, configs: { "message.timestamp.type": "LogAppendTime" } },
        { topic: names.deadLetters, numPartitions: 3 },
        { topic: names.alerts, numPartitions: 1 },
      ]);
      await c.waitInSync([names.readings, names.deadLetters, names.alerts]);
      // The bootstrap run's victim leads a readings partition and is not the group's coordinator (known from
      // the group's name before the group exists; looking it up creates the offsets topic if need be). The
      // processor starts knowing only that node.
      let bootstrapVictim = -1;
      if (fault.bootstrapOnly) {
        await admin.fetchOffsets({ groupId: names.group, topics: [names.readings] });
        const coordinatorToBe = await c.coordinatorOf(names.group);
        const initial = await c.describe([names.readings]);
        bootstrapVictim = (initial.find((p) => p.leader !== coordinatorToBe) ?? initial[0]).leader;
      }
      processor = await startProcessor({
        kafka: {
          brokers: fault.bootstrapOnly ? [c.brokerList[bootstrapVictim]] : c.brokerList,
          clientId: "cluster-test",
        },
        mongo: { url: mongo.url, db: names.db },
        topics: { readings: names.readings, deadLetters: names.deadLetters, alerts: names.alerts },
        partitions: 3,
        groupId: names.group,
        instance: `cluster-${fault.name}`,
        metricsPort: 0,
        flushIntervalMs: 500,
        logger: createLogger({
          name: "processor",
          level: "info",
          format: "json",
          write: (l) => logLines.push(l),
        }),
      });
      await within(processor.ready, 60_000, "The processor got no partitions within 60 s");
      const coordinator = await c.coordinatorOf(names.group);
      const before = await c.describe([names.readings]);
      victim = fault.bootstrapOnly
        ? bootstrapVictim
        : fault.victim === "coordinator"
        ? coordinator
        : (before.find((p) => p.leader !== coordinator) ?? before[0]).leader;
      if (fault.bootstrapOnly) {
        assert.notEqual(victim, coordinator, "the bootstrap victim is not the group's coordinator");
      }
      const led = before.filter((p) => p.leader === victim).map((p) => p.partition);
      const alertsLeader = (await c.describe([names.alerts]))[0]?.leader ?? -1;
      const controller = await c.activeController();

      run = produceKnownSet({
        brokers: c.brokerList,
        topic: names.readings,
        count: RATE * SECONDS,
        rate: RATE,
        sensors: 200,
        seed: 1404,
      });
      const producer = run;
      await within(producer.handle.ready, 60_000, "The producer did not become ready within 60 s");
      const stored = async () => await db.collection(COLLECTIONS.readings).countDocuments({}, { maxTimeMS: 5000 });
      await waitFor(async () => {
        producer.check();
        return (await stored()) > 0;
      }, { timeoutMs: 60_000, intervalMs: 200, what: "the first stored readings" });
      await sleepUntil(Date.now() + FAULT_AFTER_MS);

      // Progress is sampled from now on: the longest time without a new stored reading until all are stored.
      const faultAt = Date.now();
      await c.node(victim).kill(fault.signal);
      let sampling = true;
      let last = await stored().catch(() => -1);
      let lastGrowth = Date.now();
      let longestNoProgressMs = 0;
      let target = Infinity;
      let caughtUpAt = 0;
      const sampler = (async () => {
        while (sampling) {
          await new Promise((r) => setTimeout(r, 250));
          const n = await stored().catch(() => last);
          const now = Date.now();
          if (n > last) {
            longestNoProgressMs = Math.max(longestNoProgressMs, now - lastGrowth);
            lastGrowth = now;
            last = n;
          }
          if (n >= target && !caughtUpAt) caughtUpAt = now;
        }
      })();

      await sleepUntil(faultAt + RESTART_AFTER_MS);
      const newCoordinator = await c.coordinatorOf(names.group).catch(() => -1);
      await c.restart(victim);
      const result = await within(producer.done, SECONDS * 1000 + 120_000, "The producer run did not finish");
      const producerDoneMs = Date.now() - faultAt;
      const expected = expectedFromSequences(result.sequences);
      target = expected.length;
      try {
        await waitFor(() => caughtUpAt > 0, { timeoutMs: CATCH_UP_BOUND_MS, intervalMs: 250 });
      } catch {
        // Reported below as not caught up; the verification says what is missing.
      } finally {
        sampling = false;
        await sampler;
        // A stall that lasted until the end counts too.
        if (!caughtUpAt) longestNoProgressMs = Math.max(longestNoProgressMs, Date.now() - lastGrowth);
      }
      await processor.stop();
      const stats = processor.stats();
      processor = undefined;
      await c.waitInSync([names.readings]);
      const records = await readTopic(kafka, names.readings);
      const topic = checkTopic(records, result.sequences, faultAt);
      const storedAt = new Map(
        (await db.collection(COLLECTIONS.readings).find({}, { projection: { _id: 1, ingested_at: 1 } }).toArray())
          .map((d) => [String(d._id), new Date(d.ingested_at).getTime()]),
      );
      const storedIds = new Set(storedAt.keys());
      const timings = storeTimings(records, storedAt, faultAt);
      const missingById = [...topic.readingIds].filter((id) => !storedIds.has(id));
      const unexpectedById = [...storedIds].filter((id) => !topic.readingIds.has(id));
      const report = await verifyPipeline({
        db,
        expected,
        kafka,
        deadLetterTopic: names.deadLetters,
        alertTopic: names.alerts,
      });
      const warnings = logLines.filter((l) => /"level":"(warn|error)"/.test(l));
      const messages = new Map<string, number>();
      for (const l of warnings) {
        const msg = (/"msg":"([^"]*)"/.exec(l)?.[1] ?? l).slice(0, 120);
        messages.set(msg, (messages.get(msg) ?? 0) + 1);
      }
      summary(`cluster-processor-${fault.name}`, {
        victim,
        processorBootstrap: fault.bootstrapOnly ? [c.brokerList[victim]] : c.brokerList,
        coordinator,
        newCoordinator,
        victimLedPartitions: led,
        victimWasController: victim === controller,
        alertsLeader,
        acknowledged: result.acknowledged,
        producerFailed: result.failed,
        expected: report.expected,
        inTopic: topic.inTopic,
        lostInTopic: topic.missing,
        duplicatedInTopic: topic.duplicated,
        reorderedInTopic: topic.reordered,
        distinctReadingIds: topic.readingIds.size,
        sameInstant: topic.sameInstant,
        storedDocs: storedIds.size,
        missingById: missingById.length,
        unexpectedById: unexpectedById.length,
        stored: report.stored,
        missing: report.missing,
        duplicated: report.duplicated,
        unexpected: report.unexpected,
        consumed: stats.consumed,
        redelivered: stats.consumed - report.expected,
        longestNoProgressMs,
        appendGapAfterFaultMs: topic.maxGapAfterFaultMs,
        storeGapAfterFaultMs: timings.maxStoreGapAfterFaultMs,
        appendToStoreMs: timings.maxAppendToStoreMs,
        caughtUpAfterFaultMs: caughtUpAt ? caughtUpAt - faultAt : null,
        producerDoneAfterFaultMs: producerDoneMs,
        processorLag: stats.lag,
        stageSeconds: stats.stageSeconds,
        problems: report.problems,
        processorWarnings: Object.fromEntries(messages),
        processorErrors: logLines.filter((l) => /"level":"error"/.test(l) && !/Connection error/.test(l)).slice(0, 3)
          .map((l) => l.slice(0, 800)),
      });
      assert.equal(result.failed, 0, "the producer had every reading acknowledged");
      assert.equal(topic.missing, 0, "every acknowledged reading is in the topic");
      assert.equal(topic.duplicated, 0, "no reading twice in the topic");
      assert.equal(topic.reordered, 0, "each sensor's readings in seq order in the topic");
      assert.deepEqual(missingById.slice(0, 5), [], "every distinct reading of the topic is stored");
      assert.deepEqual(unexpectedById.slice(0, 5), [], "nothing stored that is not in the topic");
      assert.equal(
        topic.sameInstant,
        0,
        "no two readings of one sensor share an event time (the producer's timestamps; the pipeline keeps one of each)",
      );
      assert.equal(report.missing, 0, "no reading missing from MongoDB");
      assert.equal(report.duplicated, 0, "no reading stored twice");
      assert.equal(report.unexpected, 0, "nothing stored that was not produced");
      assert.equal(report.stored, report.expected, "every reading stored once");
      assert.deepEqual(report.problems, [], "windows, alerts and dead letters agree with the readings");
    } finally {
      await processor?.stop().catch(() => {});
      await run?.handle.stop().catch(() => {});
      if (victim >= 0 && !c.node(victim).running) await c.restart(victim).catch(() => {});
      await admin.disconnect().catch(() => {});
      await mongo.close().catch(() => {});
    }
  }
}
