/**
 * `deno task up` runs the whole stack: the dashboard comes up with live data,
 * and SIGINT (Ctrl-C) stops everything in order, leaving no process behind.
 */
import assert from "node:assert/strict";
import { MongoClient } from "mongodb";
import { COLLECTIONS, DEFAULT_DB } from "@iot/shared";
import { freePort } from "../../dev/process.ts";
import { isAlive, processTree, waitFor } from "../../dev/testing.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("deno task up brings the dashboard live with data and Ctrl-C stops everything", opts, async () => {
  const ports = { web: freePort(), metrics: freePort(), kafka: freePort(), mongo: freePort() };
  const env = { ...Deno.env.toObject() };
  for (const k of ["KAFKA_BROKERS", "MONGO_URL", "TEST_KAFKA_BROKERS"]) delete env[k];
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "dev/up_main.ts",
      "--rate",
      "500",
      "--sensors",
      "120",
      "--web-port",
      String(ports.web),
      "--metrics-port",
      String(ports.metrics),
      "--kafka-port",
      String(ports.kafka),
      "--mongo-port",
      String(ports.mongo),
    ],
    cwd: new URL("../../", import.meta.url).pathname,
    env: { ...env, IOT_MONGO_ENGINE: "java" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const readers = [child.stdout, child.stderr].map(async (s) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) output += chunk;
  });
  const client = new MongoClient(`mongodb://127.0.0.1:${ports.mongo}/?directConnection=true`);
  try {
    await waitFor(() => output.includes("Dashboard:") || output.includes("all stopped"), {
      timeoutMs: 240_000,
      what: "the dashboard URL",
    }).catch((e) => {
      throw new Error(`${e.message}. Output so far:\n${output.slice(-3000)}`);
    });
    assert.match(output, new RegExp(`Dashboard:\\s+http://127\\.0\\.0\\.1:${ports.web}`));
    for (const name of ["processor", "web", "producer", "kafka", "mongo"]) {
      const prefixed = new RegExp(`^(\\x1b\\[\\d+m)?${name}\\s*\\|`, "m");
      await waitFor(() => prefixed.test(output), { timeoutMs: 30_000, what: `prefixed logs of ${name}` });
    }
    const page = await fetch(`http://127.0.0.1:${ports.web}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);

    // Data flows end to end: readings stored and windows computed.
    await client.connect();
    const db = client.db(DEFAULT_DB);
    await waitFor(async () => (await db.collection(COLLECTIONS.readings).countDocuments()) > 500, {
      timeoutMs: 60_000,
      what: "readings in MongoDB",
    });
    await waitFor(async () => (await db.collection(COLLECTIONS.windows).countDocuments()) > 0, {
      timeoutMs: 60_000,
      what: "windows in MongoDB",
    });
    const health = await fetch(`http://127.0.0.1:${ports.metrics}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    await client.close();

    const procs = await processTree(child.pid);
    assert.ok([...procs.values()].filter((c) => c === "java").length >= 2, "Kafka and MongoDB JVMs run");
    assert.ok([...procs.values()].filter((c) => c === "deno").length >= 3, "producer, processor and web run");

    child.kill("SIGINT");
    const status = await child.status;
    await Promise.all(readers);
    assert.equal(status.code, 0, output.slice(-3000));
    const order = ["stopping producer", "stopping processor", "stopping web", "stopping services"].map((s) =>
      output.indexOf(s)
    );
    assert.ok(order.every((i) => i >= 0), "each program is stopped");
    assert.deepEqual([...order].sort((a, b) => a - b), order, "stopped in order producer, processor, web, services");
    assert.match(output, /all stopped/);
    assert.match(output, /Topics ready: sensor-data \(3\), sensor-data\.dlq \(3\), sensor-alerts \(1\)/);
    assert.ok(output.indexOf("Topics ready") < output.indexOf("Dashboard:"), "topics exist before ready");
    assert.doesNotMatch(output, /Exception\b|\|\s+at [\w.$]+\(/, "no stack traces at start or stop");
    assert.doesNotMatch(output, /^mongo\s*\|.*\bWARN\b/m, "no warnings from the stand-in for expected conditions");
    // Grandchildren (e.g. esbuild's service) exit when their parent's pipe closes: give them a moment.
    const survivors = () => [...procs].filter(([pid]) => isAlive(pid)).map(([pid, comm]) => `${pid} ${comm}`);
    await waitFor(() => survivors().length === 0, { timeoutMs: 10_000, what: "every process to exit" }).catch(() => {});
    assert.deepEqual(survivors(), [], "no process left running");
  } finally {
    await client.close().catch(() => {});
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }
});
