/**
 * `deno task producer --source http` as a subprocess: flag and targets-file
 * errors exit 2 with one line; a run publishes checks of local targets and
 * SIGINT stops it with exit 0.
 */
import assert from "node:assert/strict";
import { createKafka, createLogger, decodeCheck } from "@iot/shared";
import { freePort } from "../../dev/process.ts";
import { uniqueName, useKafka, waitFor } from "../../dev/testing.ts";
import { sampleValue } from "../monitoring/promql.ts";
import { startLocalTargets } from "./servers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const MAIN = new URL("../../producer/main.ts", import.meta.url).pathname;

function cli(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { LOG_FORMAT: "json" },
  });
}

Deno.test("bad --source, missing or bad targets exit 2 with one line on stderr", opts, async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify([{ url: "ftp://127.0.0.1/" }]));
    await Deno.writeTextFile(`${dir}/notjson.json`, "[{");
    const cases: [string[], RegExp][] = [
      [["--source", "ftp"], /^error: Flag --source must be one of sensors, http, got "ftp"/],
      [["--source"], /^error: Flag --source needs a value/],
      [["--source", "http"], /^error: Flag --targets is required with --source http/],
      [["--source=http", "--targets", `${dir}/missing.json`], /^error: Cannot read targets file/],
      [["--source", "http", "--targets", `${dir}/notjson.json`], /^error: Targets file .* is not JSON/],
      [["--source", "http", "--targets", `${dir}/bad.json`], /^error: .*entry 1: url must use http or https/],
      [["--source", "http", "--targets", `${dir}/bad.json`, "--concurrency", "0"], /^error: Flag --concurrency/],
    ];
    for (const [args, re] of cases) {
      const out = await cli(args).output();
      const stderr = new TextDecoder().decode(out.stderr).trim();
      assert.equal(out.code, 2, `${args.join(" ")}: exit ${out.code}, stderr ${stderr}`);
      assert.match(stderr, re);
      assert.equal(stderr.split("\n").length, 1, `one line: ${stderr}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "the checker CLI publishes checks keyed by url, logs and counts each, and stops on SIGINT",
  opts,
  async () => {
    const kafka = await useKafka();
    const srv = startLocalTargets(100);
    const dir = await Deno.makeTempDir();
    const topic = uniqueName("website-checks");
    const seen: { key: string; ok: boolean; up?: boolean }[] = [];
    const client = await createKafka({ brokers: kafka.brokers, clientId: "test" }, {
      role: "cli-test",
      logger: createLogger({ name: "test", level: "error" }),
    });
    const consumer = client.consumer({ groupId: uniqueName("cli-test") });
    let child: Deno.ChildProcess | undefined;
    const metricsPort = freePort();
    try {
      await Deno.writeTextFile(
        `${dir}/targets.json`,
        JSON.stringify([
          { name: "fast", url: srv.fast, category: "t", interval: 0.2, timeout: 1 },
          { name: "down", url: srv.refused, category: "t", interval: 0.2, timeout: 1 },
        ]),
      );
      child = cli([
        "--source",
        "http",
        "--targets",
        `${dir}/targets.json`,
        "--brokers",
        kafka.brokers[0],
        "--topic",
        topic,
        "--metrics-port",
        String(metricsPort),
      ])
        .spawn();
      const admin = client.admin();
      await admin.connect();
      try {
        await waitFor(async () => (await admin.listTopics()).includes(topic) || undefined, {
          timeoutMs: 20_000,
          what: "the checks topic",
        });
      } finally {
        await admin.disconnect();
      }
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: ({ message }) => {
          const d = decodeCheck(message.value);
          seen.push({ key: message.key?.toString() ?? "", ok: d.ok, up: d.ok ? d.check.is_up : undefined });
          return Promise.resolve();
        },
      });
      await waitFor(
        () => seen.filter((s) => s.key === srv.fast).length >= 3 && seen.some((s) => s.key === srv.refused),
        {
          timeoutMs: 30_000,
          what: "checks of both targets",
        },
      );
      assert.ok(seen.every((s) => s.ok), "every message is a valid check");
      assert.ok(seen.filter((s) => s.key === srv.fast).every((s) => s.up === true));
      assert.ok(seen.filter((s) => s.key === srv.refused).every((s) => s.up === false));

      // The checker's own metrics, by target and result.
      const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
      assert.equal(health.status, 200);
      assert.equal((await health.json()).status, "ok");
      const page = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert.ok((sampleValue(page, "checker_checks_total", { target: "fast", url: srv.fast, result: "up" }) ?? 0) >= 3);
      assert.ok((sampleValue(page, "checker_checks_total", { target: "down", result: "down" }) ?? 0) >= 1);
      assert.equal(sampleValue(page, "checker_checks_total", { target: "down", result: "up" }), undefined);
      assert.equal(sampleValue(page, "checker_target_up", { target: "fast" }), 1);
      assert.equal(sampleValue(page, "checker_target_up", { target: "down" }), 0);
      assert.equal(sampleValue(page, "checker_last_status_code", { target: "fast" }), 200);
      assert.ok((sampleValue(page, "checker_response_seconds_count") ?? 0) >= 3);
      assert.equal(sampleValue(page, "checker_targets"), 2);
      child.kill("SIGINT");
      const out = await child.output();
      child = undefined;
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const final = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
      assert.equal(final.final, true);
      assert.equal(final.failed, 0);
      assert.ok(final.checks >= 4);
      // One INFO line per check, in the reference's format.
      const messages = new TextDecoder().decode(out.stderr).split("\n").filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l)).filter((l) => l.level === "info").map((l) => l.msg as string);
      const esc = (u: string) => u.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
      const upLine = new RegExp(`^fast \\(${esc(srv.fast)}\\) - UP - \\d+\\.\\d{2} s$`);
      const downLine = new RegExp(`^down \\(${esc(srv.refused)}\\) - DOWN - \\d+\\.\\d{2} s - Connection refused$`);
      assert.ok(messages.filter((m) => upLine.test(m)).length >= 3, messages.slice(0, 10).join("\n"));
      assert.ok(messages.some((m) => downLine.test(m)), messages.slice(0, 10).join("\n"));
    } finally {
      if (child) {
        child.kill("SIGKILL");
        await child.output().catch(() => {});
      }
      await consumer.disconnect().catch(() => {});
      await srv.close();
      await Deno.remove(dir, { recursive: true });
      await kafka.close();
    }
  },
);

Deno.test("an unreachable broker exits 1 with a clear error", opts, async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/t.json`, JSON.stringify([{ url: "http://127.0.0.1:9/" }]));
    const out = await cli(["--source", "http", "--targets", `${dir}/t.json`, "--brokers", "127.0.0.1:9"]).output();
    assert.equal(out.code, 1);
    const last = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)!;
    assert.match(last, /Cannot reach Kafka/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
