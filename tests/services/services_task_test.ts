/**
 * `deno task services` starts Kafka and the MongoDB-protocol server, creates the
 * standard topics before it reports ready (so that a client we did not write can
 * produce at once), prints their URLs, and on Ctrl-C (SIGINT) stops both, leaving
 * no process behind; a second Ctrl-C stops them at once. With `--brokers 3` it
 * runs a 3-node cluster whose topics, internal ones included, have three
 * replicas and `min.insync.replicas=2`.
 */
import assert from "node:assert/strict";
import { MongoClient } from "mongodb";
import { ConfigResourceTypes } from "kafkajs";
import { createKafka, createLogger, SIGNAL_COPY_WINDOW_MS, standardTopics, TOPICS } from "@iot/shared";
import { freePort, freePortRange } from "../../dev/process.ts";
import { createStandardTopics } from "../../dev/stack.ts";
import { isAlive, kafkaTool, processTree, waitFor } from "../../dev/testing.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const root = new URL("../../", import.meta.url).pathname;

async function portOpen(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

/** Options of `startServicesTask`. */
interface ServicesTaskOptions {
  /** Environment added to the test's own. */
  env?: Record<string, string>;
  /** Kafka nodes; default 1. */
  brokers?: number;
  /**
   * Run it as from a terminal: `deno task services` as the leader of a process group of its own (`setsid`), so
   * that a signal to the group reaches it as a Ctrl-C does, from the terminal and forwarded by `deno task`.
   */
  terminal?: boolean;
}

/** Starts `deno task services` on free ports (`brokers` nodes from `kafkaPort` on) and waits for its URLs. */
async function startServicesTask(options: ServicesTaskOptions = {}) {
  const brokers = options.brokers ?? 1;
  const kafkaPort = brokers > 1 ? freePortRange(brokers) : freePort();
  const mongoPort = freePort();
  const env = { ...Deno.env.toObject() };
  delete env.KAFKA_BROKERS;
  delete env.MONGO_URL;
  const flags = [
    "--kafka-port",
    String(kafkaPort),
    "--mongo-port",
    String(mongoPort),
    ...(brokers > 1 ? ["--brokers", String(brokers)] : []),
  ];
  const [cmd, args] = options.terminal
    ? ["setsid", [Deno.execPath(), "task", "services", ...flags]]
    : [Deno.execPath(), ["run", "-A", "dev/services_main.ts", ...flags]];
  const child = new Deno.Command(cmd, {
    args,
    cwd: root,
    env: { ...env, IOT_MONGO_ENGINE: "java", ...options.env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = { stdout: "", stderr: "" };
  const readers = Promise.all([
    (async () => {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) out.stdout += chunk;
    })(),
    (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) out.stderr += chunk;
    })(),
  ]);
  let exited = false;
  child.status.then(() => (exited = true));
  await waitFor(() => out.stdout.includes("MONGO_URL=") || exited, {
    timeoutMs: 120_000,
    what: "service URLs on stdout",
  }).catch((e) => {
    throw new Error(`${e.message}\n${out.stderr.slice(-3000)}`);
  });
  assert.ok(!exited, `services exited during start:\n${out.stderr.slice(-3000)}`);
  return { child, kafkaPort, mongoPort, out, readers, terminal: options.terminal ?? false };
}

/**
 * Sends SIGINT (to the process group when run as from a terminal) and checks the orderly stop: exit 0, every
 * port closed, no JVM left, no stack trace.
 */
async function assertStopsOnSigint(
  svc: Awaited<ReturnType<typeof startServicesTask>>,
  ports: number[],
  jvms: number[],
): Promise<void> {
  if (svc.terminal) Deno.kill(-svc.child.pid, "SIGINT");
  else svc.child.kill("SIGINT");
  const status = await svc.child.status;
  await svc.readers;
  assert.equal(status.code, 0, svc.out.stderr);
  assert.match(svc.out.stderr, /Services stopped\./);
  assert.doesNotMatch(svc.out.stderr, /SIGINT again/, "one Ctrl-C is one stop request");
  for (const p of ports) assert.equal(await portOpen(p), false, `port ${p} closed`);
  assert.deepEqual(jvms.filter(isAlive), [], "no JVM left running");
  assert.doesNotMatch(svc.out.stderr, /Exception|^\s+at /m, "no stack traces at start or stop");
}

Deno.test(
  "services task creates the standard topics, a foreign client can produce at once, Ctrl-C stops all in order",
  opts,
  async () => {
    const partitions = 4;
    const retentionBytes = 123_456_789;
    const svc = await startServicesTask({
      env: { KAFKA_PARTITIONS: String(partitions), IOT_KAFKA_RETENTION_BYTES: String(retentionBytes) },
      terminal: true,
    });
    const { child, kafkaPort, mongoPort, out } = svc;
    const brokers = `127.0.0.1:${kafkaPort}`;
    try {
      assert.match(out.stdout, new RegExp(`KAFKA_BROKERS=127\\.0\\.0\\.1:${kafkaPort}`));
      assert.match(out.stdout, new RegExp(`MONGO_URL=mongodb://127\\.0\\.0\\.1:${mongoPort}`));
      const client = new MongoClient(`mongodb://127.0.0.1:${mongoPort}/?directConnection=true`);
      const ping = await client.db("admin").command({ ping: 1 });
      await client.close();
      assert.equal(ping.ok, 1);
      assert.ok(await portOpen(kafkaPort));
      const jvms = [...(await processTree(child.pid))].filter(([, comm]) => comm === "java").map(([pid]) => pid);
      assert.equal(jvms.length, 2, "one JVM for Kafka, one for MongoDB");

      // Kafka's own console producer (a client we did not write) produces to sensor-data right away.
      const lines = Array.from(
        { length: 5 },
        (_, i) => JSON.stringify({ sensor_id: `foreign_${i}`, sensor_type: "temperature", value: 20 + i }),
      );
      const produced = await kafkaTool(
        [
          "console-producer",
          "--bootstrap-server",
          brokers,
          "--topic",
          TOPICS.readings,
          "--producer-property",
          "acks=all",
          "--producer-property",
          "max.block.ms=15000",
        ],
        lines.join("\n") + "\n",
      );
      assert.equal(produced.code, 0, produced.stderr);
      assert.doesNotMatch(produced.stderr, /UNKNOWN_TOPIC|not present in metadata|does not exist/i);
      const offsets = await kafkaTool(["get-offsets", "--bootstrap-server", brokers, "--topic", TOPICS.readings]);
      assert.equal(offsets.code, 0, offsets.stderr);
      const total = offsets.stdout.trim().split("\n").reduce((n, l) => n + Number(l.split(":")[2]), 0);
      assert.equal(total, 5, offsets.stdout);

      // Every standard topic exists with the configured partitions, and size-based retention applies.
      const kafka = await createKafka({ brokers: [brokers], clientId: "t" }, {
        role: "services-test",
        logger: createLogger({ name: "t", level: "error" }),
      });
      const admin = kafka.admin();
      await admin.connect();
      try {
        const expected = standardTopics({
          topics: { readings: TOPICS.readings, deadLetters: TOPICS.deadLetters, alerts: TOPICS.alerts },
          partitions,
        });
        const describe = async () => {
          const meta = await admin.fetchTopicMetadata({ topics: expected.map((t) => t.topic) });
          return new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
        };
        assert.deepEqual(await describe(), new Map(expected.map((t) => [t.topic, t.numPartitions])));
        assert.ok(expected.some((t) => t.numPartitions === partitions), "KAFKA_PARTITIONS is used");
        // Idempotent: ensuring them again changes nothing.
        await createStandardTopics(brokers, { KAFKA_PARTITIONS: "7" });
        assert.deepEqual(await describe(), new Map(expected.map((t) => [t.topic, t.numPartitions])));
        const configs = await admin.describeConfigs({
          resources: [{
            type: ConfigResourceTypes.TOPIC,
            name: TOPICS.readings,
            configNames: ["retention.bytes", "segment.bytes"],
          }],
          includeSynonyms: false,
        });
        const entries = new Map(configs.resources[0].configEntries.map((e) => [e.configName, e.configValue]));
        assert.equal(entries.get("retention.bytes"), String(retentionBytes), "IOT_KAFKA_RETENTION_BYTES applies");
        assert.equal(entries.get("segment.bytes"), String(64 * 1024 * 1024));
      } finally {
        await admin.disconnect();
      }
      assert.match(out.stderr, /Topics ready: sensor-data \(4\), sensor-data\.dlq \(4\), sensor-alerts \(1\)/);
      assert.ok(out.stderr.indexOf("Topics ready") < out.stderr.indexOf("Services are up"));

      await assertStopsOnSigint(svc, [kafkaPort, mongoPort], jvms);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
    }
  },
);

Deno.test("a second Ctrl-C stops the services at once and the exit code says so", opts, async () => {
  const svc = await startServicesTask({ terminal: true });
  const { child, kafkaPort, mongoPort, out } = svc;
  const jvms = [...(await processTree(child.pid))].filter(([, comm]) => comm === "java").map(([pid]) => pid);
  assert.equal(jvms.length, 2);
  const cmdline = (pid: number) => Deno.readTextFileSync(`/proc/${pid}/cmdline`);
  const mongo = jvms.find((pid) => cmdline(pid).includes("MongoLauncher"));
  assert.ok(mongo, "the MongoDB-protocol server's JVM");
  try {
    // A frozen MongoDB-protocol server holds the orderly stop, so the second Ctrl-C comes while it runs.
    Deno.kill(mongo, "SIGSTOP");
    Deno.kill(-child.pid, "SIGINT");
    await new Promise((r) => setTimeout(r, SIGNAL_COPY_WINDOW_MS + 500)); // not a copy of the first
    Deno.kill(-child.pid, "SIGINT");
    const status = await child.status;
    await svc.readers;
    assert.equal(status.code, 1, out.stderr);
    assert.match(out.stderr, /Stopping services \(SIGINT\)/);
    assert.match(out.stderr, /SIGINT again: killing the services now/);
    assert.match(out.stderr, /Services stopped \(killed\)/);
    assert.deepEqual(jvms.filter(isAlive), [], "no JVM left running");
    assert.equal(await portOpen(kafkaPort), false);
    assert.equal(await portOpen(mongoPort), false);
  } finally {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch { /* already exited */ }
    try {
      Deno.kill(mongo, "SIGKILL");
    } catch { /* already gone */ }
  }
});

Deno.test(
  "services --brokers 3 runs a 3-node cluster: RF 3 and min.insync.replicas 2 everywhere, SIGINT stops all",
  opts,
  async () => {
    const svc = await startServicesTask({ brokers: 3 });
    const { child, kafkaPort, mongoPort, out } = svc;
    const ports = [kafkaPort, kafkaPort + 1, kafkaPort + 2];
    const brokers = ports.map((p) => `127.0.0.1:${p}`);
    try {
      assert.match(out.stdout, new RegExp(`^KAFKA_BROKERS=${brokers.join(",").replace(/\./g, "\\.")}$`, "m"));
      assert.match(out.stderr, /cluster of 3 nodes .*replication factor 3, min\.insync\.replicas 2/);
      const jvms = [...(await processTree(child.pid))].filter(([, comm]) => comm === "java").map(([pid]) => pid);
      assert.equal(jvms.length, 4, "three Kafka nodes and MongoDB");
      for (const p of ports) assert.ok(await portOpen(p), `node on ${p} accepts connections`);

      const kafka = await createKafka({ brokers, clientId: "t" }, {
        role: "services-test",
        logger: createLogger({ name: "t", level: "error" }),
      });
      const admin = kafka.admin();
      await admin.connect();
      try {
        const cluster = await admin.describeCluster();
        assert.deepEqual(cluster.brokers.map((b) => b.port).sort(), [...ports].sort(), "each node advertises its port");
        assert.ok(cluster.brokers.every((b) => b.host === "127.0.0.1"), "nodes advertise 127.0.0.1");
        const expected = standardTopics({
          topics: { readings: TOPICS.readings, deadLetters: TOPICS.deadLetters, alerts: TOPICS.alerts },
          partitions: 3,
        });
        const meta = await admin.fetchTopicMetadata({ topics: expected.map((t) => t.topic) });
        assert.equal(meta.topics.length, expected.length);
        for (const t of meta.topics) {
          for (const p of t.partitions) {
            assert.equal(p.replicas.length, 3, `${t.name}[${p.partitionId}] has 3 replicas`);
            assert.equal(p.isr.length, 3, `${t.name}[${p.partitionId}] has 3 in sync`);
          }
        }
        const topicConfigs = await admin.describeConfigs({
          resources: expected.map((t) => ({
            type: ConfigResourceTypes.TOPIC,
            name: t.topic,
            configNames: ["min.insync.replicas"],
          })),
          includeSynonyms: false,
        });
        for (const r of topicConfigs.resources) {
          assert.equal(r.configEntries[0]?.configValue, "2", `${r.resourceName} min.insync.replicas`);
        }
        const brokerConfigs = await admin.describeConfigs({
          resources: [{
            type: ConfigResourceTypes.BROKER,
            name: String(cluster.brokers[0].nodeId),
            configNames: [
              "offsets.topic.replication.factor",
              "transaction.state.log.replication.factor",
              "transaction.state.log.min.isr",
              "default.replication.factor",
              "min.insync.replicas",
            ],
          }],
          includeSynonyms: false,
        });
        const entries = Object.fromEntries(
          brokerConfigs.resources[0].configEntries.map((e) => [e.configName, e.configValue]),
        );
        assert.deepEqual(entries, {
          "offsets.topic.replication.factor": "3",
          "transaction.state.log.replication.factor": "3",
          "transaction.state.log.min.isr": "2",
          "default.replication.factor": "3",
          "min.insync.replicas": "2",
        });
      } finally {
        await admin.disconnect();
      }

      await assertStopsOnSigint(svc, [...ports, mongoPort], jvms);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
    }
  },
);
