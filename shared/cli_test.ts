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
