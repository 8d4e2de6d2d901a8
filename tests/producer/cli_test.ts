/**
 * The producer CLI as a subprocess: flag errors, JSON stats, SIGINT with a
 * flush and exit 0, and an unreachable broker.
 */
import assert from "node:assert/strict";
import { createKafka, createLogger } from "@iot/shared";
import { freePort } from "../../dev/process.ts";
import { uniqueName, useKafka, waitFor } from "../../dev/testing.ts";
import { deleteTopics, readTopic } from "./helpers.ts";

const logger = createLogger({ name: "test", level: "warn" });
const opts = { sanitizeOps: false, sanitizeResources: false };
const MAIN = new URL("../../producer/main.ts", import.meta.url).pathname;

function cli(args: string[], env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { LOG_FORMAT: "json", ...env },
  });
}

Deno.test("invalid flags exit 2 with one line on stderr", opts, async () => {
  const cases: [string[], RegExp][] = [
    [["--rate", "-1"], /^error: Flag --rate must be at least 0/],
    [["--sensors", "abc"], /^error: Flag --sensors must be a number/],
    [["--nope"], /^error: Unknown flag --nope/],
    [["--brokers", "localhost"], /^error: --brokers entry "localhost" must be host:port/],
    [["--compression", "zstd"], /^error: Flag --compression must be one of none, gzip/],
  ];
  for (const [args, re] of cases) {
    const out = await cli(args).output();
    const stderr = new TextDecoder().decode(out.stderr).trim();
    assert.equal(out.code, 2, `${args.join(" ")}: exit ${out.code}, stderr ${stderr}`);
    assert.match(stderr, re);
    assert.equal(stderr.split("\n").length, 1, `one line: ${stderr}`);
  }
  const bad = await cli([], { PRODUCER_RATE: "lots" }).output();
  assert.equal(bad.code, 2);
  assert.match(new TextDecoder().decode(bad.stderr), /PRODUCER_RATE must be a number/);
  const help = await cli(["--help"]).output();
  assert.equal(help.code, 0);
  assert.match(new TextDecoder().decode(help.stdout), /--rate <n>/);
});

Deno.test(
  "SIGINT mid-run: stops, flushes, prints final JSON stats, exits 0; every acknowledged record is in the topic",
  opts,
  async () => {
    const broker = await useKafka();
    const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
    const topic = uniqueName("producer-cli");
    const child = cli([
      "--brokers",
      broker.brokers.join(","),
      "--topic",
      topic,
      "--rate",
      "3000",
      "--sensors",
      "200",
      "--json",
      "--stats-interval",
      "1",
    ]).spawn();
    const lines: string[] = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buf = "";
      for await (const chunk of child.stdout) {
        buf += decoder.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          lines.push(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      }
    })();
    const stderr = new Response(child.stderr).text();
    try {
      await waitFor(() => lines.some((l) => JSON.parse(l).total > 3000), { timeoutMs: 60_000, what: "a stats line" });
      child.kill("SIGINT");
      const status = await child.status;
      await reading;
      assert.equal(status.code, 0, await stderr);
      const stats = lines.map((l) => JSON.parse(l));
      const final = stats.at(-1);
      assert.equal(final.final, true);
      assert.equal(stats.filter((s) => s.final).length, 1);
      assert.ok(stats.length >= 2, "periodic lines before the final one");
      assert.equal(final.errors, 0);
      assert.equal(final.in_flight, 0);
      assert.equal(final.total, final.sent, "everything sent was acknowledged");
      for (const key of ["rate_now", "rate_avg", "latency_ms", "by_type", "by_status", "error_rate"]) {
        assert.ok(key in final, `stats have ${key}`);
      }
      const records = await readTopic(kafka, topic);
      assert.equal(records.length, final.total);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await child.status;
      await deleteTopics(kafka, [topic]);
      await broker.close();
    }
  },
);

Deno.test("an unreachable broker: a clear error and exit 1 within --connect-timeout", opts, async () => {
  const out = await cli(["--brokers", `127.0.0.1:${freePort()}`, "--connect-timeout", "2"]).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 1, stderr);
  assert.match(stderr, /Cannot reach Kafka at 127\.0\.0\.1:\d+ within 2 s/);
});
