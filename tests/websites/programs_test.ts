/**
 * The real programs end to end on a private broker: `deno task producer
 * --source http` checks local targets, `deno task processor` (which hosts the
 * website handler) writes statistics and alerts; SIGTERM stops both with exit 0.
 */
import assert from "node:assert/strict";
import { COLLECTIONS, type WebsiteAlertDoc, type WebsiteMetricsDoc } from "@iot/shared";
import { freePort } from "../../dev/process.ts";
import { ownKafka, useMongo, waitFor } from "../../dev/testing.ts";
import { sampleValue } from "../monitoring/promql.ts";
import { startLocalTargets } from "./servers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const PRODUCER = new URL("../../producer/main.ts", import.meta.url).pathname;
const PROCESSOR = new URL("../../processor/main.ts", import.meta.url).pathname;

/** A started program whose output is read as it comes (its pipes never fill), for the messages of failed waits. */
function spawnLogged(command: Deno.Command): { child: Deno.ChildProcess; log: () => string; read: Promise<void> } {
  const child = command.spawn();
  let log = "";
  const read = Promise.all([child.stdout, child.stderr].map(async (stream) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) log += chunk;
  })).then(() => {});
  return { child, log: () => log, read };
}

function run(main: string, args: string[], env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { LOG_FORMAT: "json", LOG_LEVEL: "warn", ...env },
  });
}

Deno.test("processor website flags: bad values exit 2 with one line", opts, async () => {
  for (
    const [args, re] of [[["--website-uptime-pct", "101"], /at most 100/], [["--website-response-ms", "x"], /number/]]
  ) {
    const out = await run(PROCESSOR, args as string[]).output();
    const stderr = new TextDecoder().decode(out.stderr).trim();
    assert.equal(out.code, 2, stderr);
    assert.match(stderr, re as RegExp);
    assert.equal(stderr.split("\n").length, 1);
  }
});

Deno.test("checker CLI → Kafka → processor CLI → MongoDB, with alerts, and clean shutdown", opts, async () => {
  const kafka = await ownKafka();
  const mongo = await useMongo();
  const srv = startLocalTargets(100);
  const dir = await Deno.makeTempDir();
  const children: Deno.ChildProcess[] = [];
  try {
    await Deno.writeTextFile(
      `${dir}/targets.json`,
      JSON.stringify([
        { name: "fast", url: srv.fast, category: "t", interval: 0.3, timeout: 1 },
        { name: "broken", url: srv.error, category: "t", interval: 0.3, timeout: 1 },
      ]),
    );
    const env = { KAFKA_BROKERS: kafka.brokers[0], MONGO_URL: mongo.url, MONGO_DB: mongo.dbName };
    const metricsPort = freePort();
    const processor = spawnLogged(
      run(PROCESSOR, ["--metrics-port", String(metricsPort), "--website-response-ms", "5000"], env),
    );
    children.push(processor.child);
    const checker = spawnLogged(run(PRODUCER, ["--source", "http", "--targets", `${dir}/targets.json`], env));
    children.push(checker.child);
    const withLog = (e: Error) => {
      throw new Error(
        `${e.message}. Processor output:\n${processor.log().slice(-3000)}\nChecker output:\n${
          checker.log().slice(-2000)
        }`,
      );
    };
    const db = mongo.client.db(mongo.dbName);
    const metrics = db.collection<WebsiteMetricsDoc>(COLLECTIONS.websiteMetrics);
    const fast = await waitFor(async () => {
      const d = await metrics.findOne({ _id: `${srv.fast}|rolling` });
      return d && d.checks >= 5 ? d : undefined;
    }, { timeoutMs: 90_000, what: "5 checks of the fast target in website_metrics" }).catch(withLog);
    assert.equal(fast.uptime_pct, 100);
    const alert = await waitFor(
      async () =>
        (await db.collection<WebsiteAlertDoc>(COLLECTIONS.websiteAlerts).findOne({
          url: srv.error,
          "rules.WEBSITE_DOWN.active": true,
          state: "firing",
        })) ?? undefined,
      { timeoutMs: 30_000, what: "WEBSITE_DOWN of the broken target" },
    ).catch(withLog);
    assert.match(alert.rules?.WEBSITE_DOWN?.message ?? "", /HTTP 500/);
    // The website handler's metrics are on the processor's /metrics.
    const page = await waitFor(async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      // Counters move during a batch, its time is observed at its end: wait for a finished batch with the alert.
      const alerted = sampleValue(text, "processor_website_alerts_total", { rule: "WEBSITE_DOWN", event: "opened" }) ??
        0;
      return alerted >= 1 && (sampleValue(text, "processor_website_batch_seconds_count") ?? 0) >= 1 ? text : undefined;
    }, { timeoutMs: 10_000, what: "the WEBSITE_DOWN alert and a finished batch counted on /metrics" });
    assert.ok((sampleValue(page, "processor_website_checks_total", { outcome: "counted" }) ?? 0) >= 5);
    assert.ok((sampleValue(page, "processor_website_windows_written_total") ?? 0) >= 1);
    assert.equal(sampleValue(page, "processor_website_alerts_total", { rule: "HIGH_RESPONSE_TIME" }), undefined);
    assert.ok((sampleValue(page, "processor_consumed_total") ?? -1) >= 0, "in the processor's own registry");
    for (const program of [checker, processor]) {
      program.child.kill("SIGTERM");
      const status = await program.child.status;
      await program.read;
      assert.equal(status.code, 0, program.log().slice(-2000));
    }
    children.length = 0;
  } finally {
    for (const c of children) {
      try {
        c.kill("SIGKILL");
      } catch { /* exited */ }
      await c.status;
    }
    await srv.close();
    await Deno.remove(dir, { recursive: true });
    await mongo.close();
    await kafka.close();
  }
});
