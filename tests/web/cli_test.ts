/**
 * `deno task web` as a program: bad flags exit 2 with one line, a real run
 * serves `/healthz` against the MongoDB-protocol server and stops cleanly on SIGTERM, and a stop with MongoDB
 * frozen ends at the deadline (exit 1) or at a second signal (exit 130).
 */
import assert from "node:assert/strict";
import { SIGNAL_COPY_WINDOW_MS } from "@iot/shared";
import { freePort } from "../../dev/process.ts";
import { useMongo, waitFor } from "../../dev/testing.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const MAIN = new URL("../../web/main.ts", import.meta.url).pathname;

async function run(args: string[], env: Record<string, string> = {}): Promise<Deno.CommandOutput> {
  return await new Deno.Command(Deno.execPath(), { args: ["run", "-A", MAIN, ...args], env, stdin: "null" })
    .output();
}

Deno.test("bad flags and settings exit 2 with a one-line reason", opts, async () => {
  for (
    const [args, env, pattern] of [
      [["--port", "abc"], {}, /--port must be a number/],
      [["--port", "70000"], {}, /--port must be at most 65535/],
      [["--bogus"], {}, /Unknown flag --bogus/],
      [["--live-mode", "push"], {}, /--live-mode must be one of auto, polling/],
      [[], { WEB_PORT: "x" }, /WEB_PORT must be an integer/],
      [[], { MONGO_URL: "http://nope" }, /MONGO_URL must start with mongodb/],
    ] as [string[], Record<string, string>, RegExp][]
  ) {
    const out = await run(args, env);
    assert.equal(out.code, 2, args.join(" "));
    const err = new TextDecoder().decode(out.stderr).trim();
    assert.match(err, pattern);
    assert.equal(err.split("\n").length, 1, err);
  }
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(new TextDecoder().decode(help.stdout), /--port/);
});

/** A dashboard WebSocket client (its subscription keeps change streams open). */
async function openSocket(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  return ws;
}

Deno.test("the dashboard serves against MongoDB and stops on SIGTERM", opts, async () => {
  const mongo = await useMongo();
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--no-kafka"],
    env: { MONGO_URL: mongo.url, MONGO_DB: mongo.dbName, WEB_PORT: String(port), LOG_FORMAT: "json" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  const reading = (async () => {
    while (true) {
      const { value, done } = await stderr.read();
      if (done) break;
      log += value;
    }
  })();
  try {
    const health = await waitFor(async () => {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`);
        return r.status === 200 ? await r.json() : (await r.body?.cancel(), undefined);
      } catch {
        return undefined;
      }
    }, { timeoutMs: 30_000, what: "healthz" });
    assert.equal(health.ok, true);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /data-island="WindowCharts"/);
    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(status.code, 0);
    await reading;
    await child.stdout.cancel();
    const lines = log.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.msg === "dashboard listening"));
    assert.equal(lines.at(-1).msg, "dashboard stopped");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await mongo.close();
  }
});

Deno.test(
  "a stop while MongoDB is frozen ends within the deadline with exit 1; a second signal exits at once",
  opts,
  async () => {
    const mongo = await useMongo();
    const pid = mongo.local?.pid;
    assert.ok(pid, "the MongoDB-protocol server is a local process");
    const start = (deadlineMs: number) => {
      const port = freePort();
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "--no-kafka", "--stop-timeout-ms", String(deadlineMs)],
        env: { MONGO_URL: mongo.url, MONGO_DB: mongo.dbName, WEB_PORT: String(port), LOG_FORMAT: "json" },
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const log = new Response(child.stderr).text();
      const healthy = waitFor(async () => {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/healthz`);
          await r.body?.cancel();
          return r.status === 200;
        } catch {
          return false;
        }
      }, { timeoutMs: 30_000, what: "healthz" });
      return { child, log, healthy, port };
    };
    let frozen = false;
    try {
      // A live dashboard client keeps change streams open; then MongoDB stops answering.
      const one = start(2000);
      await one.healthy;
      const ws = await openSocket(one.port);
      Deno.kill(pid, "SIGSTOP");
      frozen = true;
      const t = performance.now();
      one.child.kill("SIGTERM");
      const status = await one.child.status;
      const took = performance.now() - t;
      ws.close();
      const log = await one.log;
      console.log(`stop with MongoDB frozen: exit ${status.code} after ${Math.round(took)} ms`);
      assert.equal(status.code, 1, log.slice(-2000));
      assert.match(log, /Stop deadline passed/);
      assert.ok(took < 15_000, `the stop took ${Math.round(took)} ms with a 2 s deadline`);

      Deno.kill(pid, "SIGCONT");
      frozen = false;
      const two = start(60_000);
      await two.healthy;
      const ws2 = await openSocket(two.port);
      Deno.kill(pid, "SIGSTOP");
      frozen = true;
      two.child.kill("SIGINT");
      await new Promise((r) => setTimeout(r, SIGNAL_COPY_WINDOW_MS + 500)); // not a copy of the first
      two.child.kill("SIGINT");
      const second = await two.child.status;
      ws2.close();
      const log2 = await two.log;
      assert.equal(second.code, 130, log2.slice(-2000));
      assert.match(log2, /Second stop signal: exiting at once/);
    } finally {
      if (frozen) Deno.kill(pid, "SIGCONT");
      await mongo.close();
    }
  },
);
