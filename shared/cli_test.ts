import assert from "node:assert/strict";
import { parseFlags } from "./cli.ts";
import { UsageError } from "./errors.ts";

const SPECS = {
  rate: { type: "number", default: 1000, min: 0, help: "rate" },
  topic: { type: "string", default: "sensor-data", help: "topic" },
  quiet: { type: "boolean", default: false, help: "quiet" },
  mode: { type: "string", choices: ["a", "b"], help: "mode" },
} as const;

Deno.test("parseFlags reads both flag forms and defaults", () => {
  const f = parseFlags(["--rate", "50", "--topic=x", "--quiet"], SPECS);
  assert.equal(f.rate, 50);
  assert.equal(f.topic, "x");
  assert.equal(f.quiet, true);
  assert.equal(f.mode, undefined);
  assert.equal(parseFlags([], SPECS).rate, 1000);
  assert.equal(parseFlags(["--no-quiet"], SPECS).quiet, false);
});

Deno.test("parseFlags refuses bad input with a one-line reason", () => {
  const bad: [string[], RegExp][] = [
    [["--rate", "fast"], /--rate must be a number/],
    [["--rate", "-5"], /at least 0/],
    [["--nope"], /Unknown flag --nope/],
    [["--rate"], /needs a value/],
    [["--mode", "c"], /one of a, b/],
    [["stray"], /Unexpected argument/],
  ];
  for (const [args, re] of bad) {
    assert.throws(() => parseFlags(args, SPECS), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, re);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
});

Deno.test("stopWithParent: a child stops gracefully once its parent process is gone", async () => {
  // A stand-in parent (sleep) and a child that reports the SIGTERM it gets from stopWithParent.
  const parent = new Deno.Command("sleep", { args: ["30"] }).spawn();
  const code = `
    import { stopWithParent } from "${new URL("./cli.ts", import.meta.url).href}";
    Deno.addSignalListener("SIGTERM", () => { console.log("graceful stop"); Deno.exit(0); });
    stopWithParent();
    setTimeout(() => { console.log("not stopped"); Deno.exit(3); }, 20000);
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { IOT_PARENT_PID: String(parent.pid) },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await new Promise((r) => setTimeout(r, 1500));
  parent.kill("SIGKILL");
  await parent.status;
  const out = await child.output();
  assert.equal(out.code, 0);
  assert.match(new TextDecoder().decode(out.stdout), /graceful stop/);
  assert.match(new TextDecoder().decode(out.stderr), /parent process \d+ is gone/);
});
