/**
 * `deno task up` runs the whole stack: the dashboard comes up with live data,
 * the HTTP checker watches the built-in targets (the stack's `/healthz` and the
 * demo sites) so website windows and alerts appear, and Ctrl-C (SIGINT to the
 * process group of `deno task up`, as a terminal sends it) stops everything in
 * order, leaving no process behind.
 */
import assert from "node:assert/strict";
import { MongoClient } from "mongodb";
import { COLLECTIONS, DEFAULT_DB, type WebsiteAlertDoc, type WebsiteMetricsDoc } from "@iot/shared";
import { freePort } from "../../dev/process.ts";
import { isAlive, processTree, waitFor } from "../../dev/testing.ts";
import { sampleValue } from "../monitoring/promql.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("deno task up: a bad --targets file or --targets with --no-websites exit 2 before anything starts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify([{ url: "ftp://127.0.0.1/" }]));
    for (
      const [args, re] of [
        [["--targets", `${dir}/bad.json`], /^error: .*entry 1: url must use http or https$/],
        [["--targets", `${dir}/missing.json`], /^error: Cannot read targets file/],
        [["--targets", `${dir}/bad.json`, "--no-websites"], /^error: Flags --targets and --no-websites exclude/],
      ] as const
    ) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "dev/up_main.ts", ...args],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr).trim();
      assert.equal(out.code, 2, stderr);
      assert.match(stderr, re);
      assert.doesNotMatch(new TextDecoder().decode(out.stdout), /Starting Kafka/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "deno task up brings the dashboard and the websites live with data and Ctrl-C stops everything",
  opts,
  async () => {
    const ports = { web: freePort(), metrics: freePort(), kafka: freePort(), mongo: freePort() };
    const env = { ...Deno.env.toObject() };
    for (const k of ["KAFKA_BROKERS", "MONGO_URL", "TEST_KAFKA_BROKERS"]) delete env[k];
    // As from a terminal: `deno task up` leads a process group of its own, and Ctrl-C signals the whole group.
    const child = new Deno.Command("setsid", {
      args: [
        Deno.execPath(),
        "task",
        "up",
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
      cwd: ROOT,
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
      const demo = /Websites: +5 built-in targets \(the stack's \/healthz, demo sites on (http:\/\/127\.0\.0\.1:\d+)\)/
        .exec(output)?.[1];
      assert.ok(demo, `the banner names the built-in targets:\n${output.slice(-2000)}`);
      for (const name of ["processor", "web", "producer", "checker", "kafka", "mongo"]) {
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

      // Websites alive by default: windows of the built-in targets and real alerts of the demo sites.
      const websiteMetrics = db.collection<WebsiteMetricsDoc>(COLLECTIONS.websiteMetrics);
      const websiteAlerts = db.collection<WebsiteAlertDoc>(COLLECTIONS.websiteAlerts);
      await waitFor(async () => (await websiteMetrics.countDocuments({ kind: "window", url: `${demo}/healthy` })) > 0, {
        timeoutMs: 60_000,
        what: "website windows of the healthy demo site",
      });
      const down = await waitFor(
        async () => (await websiteAlerts.findOne({ url: `${demo}/failing`, rule: "WEBSITE_DOWN" })) ?? undefined,
        { timeoutMs: 60_000, what: "a WEBSITE_DOWN alert of the failing demo site" },
      );
      assert.equal(down.state, "firing");
      assert.match(down.message, /HTTP 503/);
      const slow = await waitFor(
        async () => (await websiteAlerts.findOne({ url: `${demo}/slow`, rule: "HIGH_RESPONSE_TIME" })) ?? undefined,
        { timeoutMs: 90_000, what: "a HIGH_RESPONSE_TIME alert of the slow demo site" },
      );
      assert.ok(slow.value > slow.threshold);
      assert.equal(await websiteAlerts.countDocuments({ url: `${demo}/healthy` }), 0, "the healthy site has no alert");
      const rolling = await websiteMetrics.find({ kind: "rolling" }).toArray();
      assert.deepEqual(
        rolling.map((d) => d.name).sort(),
        ["Dashboard", "Demo failing", "Demo healthy", "Demo slow", "Processor"],
      );
      await client.close();

      // One INFO line per check in the reference's format, with the status of a failed one.
      const line = (name: string, url: string, rest: string) =>
        new RegExp(`^(\\x1b\\[\\d+m)?checker\\s*\\|.* INFO  checker: ${name} \\(${url}\\) - ${rest}`, "m");
      const esc = (u: string) => u.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
      assert.match(output, line("Demo healthy", esc(`${demo}/healthy`), "UP - \\d+\\.\\d{2} s\\s*$"));
      assert.match(
        output,
        line("Demo failing", esc(`${demo}/failing`), "DOWN - \\d+\\.\\d{2} s - HTTP 503 Service Unavailable"),
      );
      assert.match(output, line("Dashboard", esc(`http://127.0.0.1:${ports.web}/healthz`), "UP"));

      // The checker's metrics on the port after the producer's, the website handler's on the processor's /metrics.
      const checker = await (await fetch(`http://127.0.0.1:${ports.metrics + 2}/metrics`)).text();
      assert.ok((sampleValue(checker, "checker_checks_total", { target: "Demo failing", result: "down" }) ?? 0) >= 1);
      assert.equal(sampleValue(checker, "checker_target_up", { target: "Demo healthy" }), 1);
      assert.equal(sampleValue(checker, "checker_last_status_code", { target: "Demo failing" }), 503);
      const processor = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
      assert.ok(
        (sampleValue(processor, "processor_website_alerts_total", { rule: "WEBSITE_DOWN", event: "opened" }) ?? 0) >= 1,
      );
      assert.ok((sampleValue(processor, "processor_website_checks_total", { outcome: "counted" }) ?? 0) >= 5);
      assert.ok((sampleValue(processor, "processor_website_windows_written_total") ?? 0) >= 1);

      const procs = await processTree(child.pid);
      assert.ok([...procs.values()].filter((c) => c === "java").length >= 2, "Kafka and MongoDB JVMs run");
      assert.ok(
        [...procs.values()].filter((c) => c === "deno").length >= 4,
        "producer, checker, processor and web run",
      );

      Deno.kill(-child.pid, "SIGINT"); // Ctrl-C: to the terminal's and deno task's copies
      const status = await child.status;
      await Promise.all(readers);
      assert.equal(status.code, 0, output.slice(-3000));
      assert.doesNotMatch(output, /SIGINT again/, "one Ctrl-C is one stop request");
      const order = ["stopping producer", "stopping checker", "stopping processor", "stopping web", "stopping services"]
        .map((s) => output.indexOf(s));
      assert.ok(order.every((i) => i >= 0), "each program is stopped");
      assert.deepEqual(
        [...order].sort((a, b) => a - b),
        order,
        "stopped in order producer, checker, processor, web, services",
      );
      assert.match(output, /checker stopped \(exit 0\)/);
      assert.match(output, /all stopped/);
      assert.match(output, /Topics ready: sensor-data \(3\), sensor-data\.dlq \(3\), sensor-alerts \(1\)/);
      assert.ok(output.indexOf("Topics ready") < output.indexOf("Dashboard:"), "topics exist before ready");
      assert.doesNotMatch(output, /Exception\b|\|\s+at [\w.$]+\(/, "no stack traces at start or stop");
      assert.doesNotMatch(output, /^mongo\s*\|.*\bWARN\b/m, "no warnings from the stand-in for expected conditions");
      // Grandchildren (e.g. esbuild's service) exit when their parent's pipe closes: give them a moment.
      const survivors = () => [...procs].filter(([pid]) => isAlive(pid)).map(([pid, comm]) => `${pid} ${comm}`);
      await waitFor(() => survivors().length === 0, { timeoutMs: 10_000, what: "every process to exit" }).catch(
        () => {},
      );
      assert.deepEqual(survivors(), [], "no process left running");
    } finally {
      await client.close().catch(() => {});
      try {
        Deno.kill(-child.pid, "SIGKILL");
      } catch { /* exited */ }
    }
  },
);
