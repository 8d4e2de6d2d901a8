/**
 * Scenario 5b: scale-out and scale-in on six partitions while readings flow.
 * One processor runs, two more join (1 → 3 instances, two partitions each),
 * then they stop one at a time (3 → 2 → 1) while the producer keeps sending at
 * 2,000 msg/s for about 30 s. Totals must be exact: every reading stored once,
 * every window count right, every consumed record counted in one outcome. After
 * each stop the broker's view of the group has no leftover member.
 *
 * The processors run in this process (`startProcessor`) so that their
 * `stats()` can be read; each has its own Kafka client id, which is how the
 * group's members are told apart in `describeGroups`.
 */
import assert from "node:assert/strict";
import { createLogger } from "@iot/shared";
import { type ProcessorHandle, type ProcessorStats, startProcessor } from "../../processor/mod.ts";
import { useKafka, waitFor } from "../../dev/testing.ts";
import { openScenario, produceKnownSet, type Scenario, summary, TEST_OPTIONS } from "./harness.ts";
import { reportNumbers, verifyKnownSet } from "./verify.ts";

const PARTITIONS = 6;
const RATE = 2000;
const RECORDS = 60_000;
const SENSORS = 2000;
/** The whole scenario, from the first processor to the last check. */
const BUDGET_MS = 115_000;

/** Warnings every processor logs on the MongoDB stand-in and with kafkajs's idempotent producer. */
const BORING = /partial indexes|Limiting retries|The group is rebalancing, re-joining/;

/** One in-process processor of the scenario and the warnings and errors it logged. */
interface Instance {
  name: string;
  clientId: string;
  handle: ProcessorHandle;
  trouble: string[];
  stopped?: ProcessorStats;
}

async function startInstance(s: Scenario, name: string): Promise<Instance> {
  const trouble: string[] = [];
  const clientId = `${s.names.group}-${name}`;
  const handle = await startProcessor({
    kafka: { brokers: s.brokers, clientId },
    mongo: { url: s.mongo.url, db: s.names.db },
    topics: { readings: s.names.readings, deadLetters: s.names.deadLetters, alerts: s.names.alerts },
    partitions: PARTITIONS,
    groupId: s.names.group,
    instance: name,
    metricsPort: 0,
    logger: createLogger({ name, level: "warn", format: "json", write: (l) => trouble.push(l) }),
  });
  // kafkajs names the consumer's client `<clientId>-processor` (see createKafka's role).
  return { name, clientId: `${clientId}-processor`, handle, trouble };
}

/** The group's members as the broker sees them: client ids, and the group state. */
async function members(s: Scenario): Promise<{ state: string; clients: string[] }> {
  const { groups } = await s.admin.describeGroups([s.names.group]);
  const g = groups[0];
  return { state: g?.state ?? "missing", clients: (g?.members ?? []).map((m) => m.clientId).sort() };
}

function outcomeSum(st: ProcessorStats): number {
  return Object.values(st.outcomes).reduce((a, b) => a + b, 0);
}

Deno.test(
  "5b. scaling: 1 → 3 → 1 processors on six partitions while readings flow; totals exact",
  TEST_OPTIONS,
  async () => {
    const until = Date.now() + BUDGET_MS;
    const left = () => Math.max(1000, until - Date.now());
    const broker = await useKafka();
    const s = await openScenario("scaling", broker.brokers, { partitions: PARTITIONS });
    const instances: Instance[] = [];
    const running = () => instances.filter((i) => !i.stopped);
    let producer: ReturnType<typeof produceKnownSet> | undefined;
    const groupAfterStop: { running: number; members: number; state: string }[] = [];

    /** Stops an instance and checks that the broker no longer lists it, nor anyone who stopped before. */
    const stop = async (inst: Instance) => {
      const report = await inst.handle.stop();
      inst.stopped = inst.handle.stats();
      assert.equal(report.abandoned, false, `${inst.name} stopped without abandoning work`);
      const g = await members(s);
      groupAfterStop.push({ running: running().length, members: g.clients.length, state: g.state });
      assert.ok(!g.clients.includes(inst.clientId), `${inst.name} left the group at once: ${JSON.stringify(g)}`);
      assert.deepEqual(
        g.clients,
        running().map((i) => i.clientId).sort(),
        "the group holds exactly the running instances",
      );
    };
    const stored = (fraction: number) =>
      waitFor(async () => {
        producer?.check();
        return (await s.storedCount()) >= RECORDS * fraction;
      }, { timeoutMs: left(), intervalMs: 200, what: `${fraction * 100} % of the readings stored` });
    /** Waits until the running instances own every partition between them, `each` apiece. */
    const spread = (each: number) =>
      waitFor(() => {
        const owned = running().map((i) => i.handle.stats().assigned);
        const all = new Set(owned.flat());
        return owned.every((a) => a.length === each) && all.size === PARTITIONS ? owned : false;
      }, { timeoutMs: left(), intervalMs: 200, what: `each running instance to own ${each} partitions` });

    try {
      instances.push(await startInstance(s, "p1"));
      await instances[0].handle.ready;
      producer = produceKnownSet({
        brokers: s.brokers,
        topic: s.names.readings,
        rate: RATE,
        count: RECORDS,
        // At least the producer's batch size (2000): a batch shares one clock reading, so with fewer sensors a
        // producer that falls behind (a loaded machine) gives a sensor two readings with the same event time,
        // i.e. the same reading id, stored once by design, and the known set would no longer match.
        sensors: SENSORS,
        seed: 1111,
      });
      const known = producer;

      // Scale out: 1 → 3 while the producer runs.
      await stored(0.15);
      instances.push(...await Promise.all([startInstance(s, "p2"), startInstance(s, "p3")]));
      const out = await spread(PARTITIONS / 3);
      const atThree = await members(s);
      assert.equal(atThree.clients.length, 3, `three members: ${JSON.stringify(atThree)}`);

      // Scale in: 3 → 2 → 1, one at a time, while the producer still runs.
      await stored(0.45);
      await stop(instances[2]);
      await spread(PARTITIONS / 2);
      await stored(0.6);
      await stop(instances[1]);
      const back = await spread(PARTITIONS);

      const report = await verifyKnownSet(s, known, RECORDS);
      await stop(instances[0]);
      const empty = await members(s);
      assert.equal(empty.state, "Empty", "no member left once every instance stopped");

      const stats = instances.map((i) => i.stopped!);
      const consumed = stats.reduce((n, st) => n + st.consumed, 0);
      const storedOutcomes = stats.reduce((n, st) => n + (st.outcomes.stored ?? 0), 0);
      const retries = stats.reduce((n, st) => n + st.mongoRetries, 0);
      summary("5b-scaling", {
        records: RECORDS,
        partitions: PARTITIONS,
        faults: { joined: 2, left: 2, rebalances: 3 },
        atThree: out,
        atOne: back,
        groupAfterStop,
        consumed,
        perInstance: Object.fromEntries(stats.map((st) => [st.instance, { consumed: st.consumed, ...st.outcomes }])),
        mongoRetries: retries,
        ...reportNumbers(report),
      });
      assert.deepEqual(report.problems, []);
      assert.equal(report.stored, RECORDS, "every produced reading stored once");
      for (const st of stats) {
        assert.equal(outcomeSum(st), st.consumed, `${st.instance}: every consumed record has one outcome`);
        assert.equal(st.outcomes.abandoned ?? 0, 0, `${st.instance}: nothing abandoned`);
        assert.equal(
          (st.outcomes.dead_lettered ?? 0) + (st.outcomes.late ?? 0),
          0,
          `${st.instance}: all valid, in time`,
        );
      }
      assert.ok(consumed >= RECORDS, "every record was consumed at least once");
      // Each reading is inserted by exactly one instance; a retried write may find its own earlier insert.
      if (retries === 0) assert.equal(storedOutcomes, RECORDS, "the instances' stored outcomes add up to the readings");
      else assert.ok(storedOutcomes <= RECORDS, "no reading counted as stored twice");
    } catch (e) {
      const trouble = instances.flatMap((i) =>
        i.trouble.filter((l) => !BORING.test(l)).slice(-6).map((l) => `${i.name}: ${l.slice(0, 400)}`)
      );
      const where = instances.map((i) => {
        const st = i.stopped ?? i.handle.stats();
        return `${i.name}: consumed ${st.consumed} assigned ${st.assigned} committed ${
          JSON.stringify(st.committed)
        } outcomes ${JSON.stringify(st.outcomes)}`;
      });
      if (e instanceof Error) {
        e.message += `\nStored: ${await s.storedCount()}\n${where.join("\n")}`;
        if (trouble.length) e.message += `\nProcessor warnings and errors:\n${trouble.join("\n")}`;
      }
      throw e;
    } finally {
      producer?.handle.stop();
      await producer?.done.catch(() => {});
      await Promise.allSettled(running().map((i) => i.handle.stop()));
      await s.close();
    }
  },
);
