/**
 * The producer CLI as a subprocess: flag errors, JSON stats, SIGINT with a
 * flush and exit 0, and an unreachable broker.
 */
import assert from "node:assert/strict";
import { createKafka, createLogger, SIGNAL_COPY_WINDOW_MS } from "@iot/shared";
import { freePort } from "../../dev/process.ts";
import { ownKafka, uniqueName, useKafka, waitFor } from "../../dev/testing.ts";
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

/** Collects a child's stdout lines as they come. */
function collectLines(stream: ReadableStream<Uint8Array>): { lines: string[]; done: Promise<void> } {
  const lines: string[] = [];
  const done = (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of stream) {
      buf += decoder.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    }
  })();
  return { lines, done };
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
    const { lines, done: reading } = collectLines(child.stdout);
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

/** Resolves with the child's status, or rejects after `ms` (and kills it). */
async function exitWithin(child: Deno.ChildProcess, ms: number, what: string): Promise<Deno.CommandStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      child.status,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* exited */ }
          reject(new Error(`${what}: no exit within ${ms} ms`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test(
  "--rate 0 --duration 3 stops by itself and reports a count; --servers is an alias of --brokers",
  opts,
  async () => {
    const broker = await useKafka();
    const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
    const topic = uniqueName("producer-rate0");
    const logFile = await Deno.makeTempFile({ suffix: ".log" });
    try {
      const child = cli([
        "--servers",
        broker.brokers.join(","),
        "--topic",
        topic,
        "--rate",
        "0",
        "--duration",
        "3",
        "--sensors",
        "100",
        "--json",
        "--quiet",
        "--log-file",
        logFile,
      ]).spawn();
      const out = collectLines(child.stdout);
      const stderr = new Response(child.stderr).text();
      // Bounded: at rate 0 it once ran until stopped by hand.
      const status = await exitWithin(child, 60_000, "producer at --rate 0 --duration 3");
      await out.done;
      assert.equal(status.code, 0, await stderr);
      const final = JSON.parse(out.lines.at(-1)!);
      assert.equal(final.final, true);
      assert.ok(final.total > 0, "it reports what it sent");
      assert.equal(final.total, final.sent);
      const log = await Deno.readTextFile(logFile);
      assert.match(log, /Producing/, "the log file has the log lines");
      assert.match(log, /duration_s/, "the start line shows the duration");
      assert.match(log, new RegExp(broker.brokers[0].replace(/\./g, "\\.")), "and the brokers");
      const records = await readTopic(kafka, topic);
      assert.equal(records.length, final.total);
    } finally {
      await Deno.remove(logFile).catch(() => {});
      await deleteTopics(kafka, [topic]);
      await broker.close();
    }
  },
);

Deno.test(
  "stop with the broker gone: exits 1 at the flush deadline and reports the abandoned records; a second SIGINT exits at once",
  opts,
  async () => {
    const broker = await ownKafka();
    const args = (topic: string, flush: string) => [
      "--brokers",
      broker.brokers.join(","),
      "--topic",
      topic,
      "--rate",
      "2000",
      "--sensors",
      "50",
      "--json",
      "--stats-interval",
      "1",
      "--flush-timeout",
      flush,
    ];
    const patient = cli(args(uniqueName("producer-stop-a"), "3")).spawn();
    const impatient = cli(args(uniqueName("producer-stop-b"), "600")).spawn();
    const outs = [collectLines(patient.stdout), collectLines(impatient.stdout)];
    const errs = [new Response(patient.stderr).text(), new Response(impatient.stderr).text()];
    try {
      await waitFor(() => outs.every((o) => o.lines.some((l) => JSON.parse(l).total > 1000)), {
        timeoutMs: 60_000,
        what: "both producers sending",
      });
      await broker.local!.kill();
      await new Promise((r) => setTimeout(r, 1000));
      patient.kill("SIGINT");
      impatient.kill("SIGINT");
      await new Promise((r) => setTimeout(r, SIGNAL_COPY_WINDOW_MS + 500)); // not a copy of the first
      impatient.kill("SIGINT");
      const second = await exitWithin(impatient, 10_000, "a second SIGINT");
      assert.equal(second.code, 130, await errs[1]);
      assert.match(await errs[1], /Second signal: exiting at once/);
      const first = await exitWithin(patient, 30_000, "a stop bounded by --flush-timeout 3");
      await outs[0].done;
      const stderr = await errs[0];
      assert.equal(first.code, 1, stderr);
      assert.match(stderr, /Flush deadline passed with records unacknowledged/);
      assert.match(stderr, /Some records were not acknowledged/);
      const final = JSON.parse(outs[0].lines.at(-1)!);
      assert.equal(final.final, true);
      assert.equal(final.total + final.errors + final.in_flight, final.sent, "every record sent is accounted for");
      const summary = stderr.split("\n").find((l) => l.includes("Some records were not acknowledged"))!;
      const fields = JSON.parse(summary);
      assert.ok(fields.abandoned > 0, `the abandoned records are reported: ${summary}`);
      assert.equal(fields.failed, final.errors + final.in_flight);
    } finally {
      for (const c of [patient, impatient]) {
        try {
          c.kill("SIGKILL");
        } catch { /* exited */ }
        await c.status;
      }
      await broker.close();
    }
  },
);
