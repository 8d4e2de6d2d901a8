/**
 * `deno task web` as a program: bad flags exit 2 with one line, a real run
 * serves `/healthz` against the MongoDB-protocol server and stops cleanly on SIGTERM.
 */
import assert from "node:assert/strict";
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
