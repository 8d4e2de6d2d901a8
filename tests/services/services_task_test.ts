/**
 * `deno task services` starts Kafka and the MongoDB-protocol server, prints
 * their URLs, and on Ctrl-C (SIGINT) stops both, leaving no process behind.
 */
import assert from "node:assert/strict";
import { MongoClient } from "mongodb";
import { freePort } from "../../dev/process.ts";
import { isAlive, processTree, waitFor } from "../../dev/testing.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function portOpen(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test("services task starts both services and SIGINT stops them with no stray processes", opts, async () => {
  const kafkaPort = freePort();
  const mongoPort = freePort();
  const env = { ...Deno.env.toObject() };
  delete env.KAFKA_BROKERS;
  delete env.MONGO_URL;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "dev/services_main.ts", "--kafka-port", String(kafkaPort), "--mongo-port", String(mongoPort)],
    cwd: new URL("../../", import.meta.url).pathname,
    env: { ...env, IOT_MONGO_ENGINE: "java" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  const reader = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) stdout += chunk;
  })();
  const stderrText = new Response(child.stderr).text();
  try {
    await waitFor(() => stdout.includes("MONGO_URL="), { timeoutMs: 120_000, what: "service URLs on stdout" });
    assert.match(stdout, new RegExp(`KAFKA_BROKERS=127\\.0\\.0\\.1:${kafkaPort}`));
    assert.match(stdout, new RegExp(`MONGO_URL=mongodb://127\\.0\\.0\\.1:${mongoPort}`));
    const client = new MongoClient(`mongodb://127.0.0.1:${mongoPort}/?directConnection=true`);
    const ping = await client.db("admin").command({ ping: 1 });
    await client.close();
    assert.equal(ping.ok, 1);
    assert.ok(await portOpen(kafkaPort));
    const jvms = [...(await processTree(child.pid))].filter(([, comm]) => comm === "java").map(([pid]) => pid);
    assert.equal(jvms.length, 2, "one JVM for Kafka, one for MongoDB");

    child.kill("SIGINT");
    const status = await child.status;
    await reader;
    const err = await stderrText;
    assert.equal(status.code, 0, err);
    assert.match(err, /Services stopped/);
    assert.equal(await portOpen(kafkaPort), false, "Kafka port closed");
    assert.equal(await portOpen(mongoPort), false, "MongoDB port closed");
    assert.deepEqual(jvms.filter(isAlive), [], "no JVM left running");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }
});
