import assert from "node:assert/strict";
import { stopWithin } from "./stop_signals.ts";

/** A logger that keeps its lines, and a timer the test fires by hand. */
function fixture() {
  const lines: string[] = [];
  let fire: (() => void) | undefined;
  let cleared = false;
  return {
    lines,
    fireTimer: () => fire?.(),
    get cleared() {
      return cleared;
    },
    options: {
      deadlineMs: 5000,
      logger: { error: (msg: string) => void lines.push(msg) },
      setTimer: (fn: () => void) => ((fire = fn), 1),
      clearTimer: () => void (cleared = true),
    },
  };
}

Deno.test("stopWithin: a clean stop in time exits 0, one that abandoned work or failed exits 1", async () => {
  const f = fixture();
  assert.equal(await stopWithin(() => Promise.resolve(true), f.options), 0);
  assert.ok(f.cleared, "the deadline timer is cleared");
  assert.equal(await stopWithin(() => Promise.resolve(false), fixture().options), 1);
  const g = fixture();
  assert.equal(await stopWithin(() => Promise.reject(new Error("boom")), g.options), 1);
  assert.deepEqual(g.lines, ["Stop failed"]);
});

Deno.test("stopWithin: the deadline ends a stop that hangs with exit 1, and a late outcome changes nothing", async () => {
  const f = fixture();
  const { promise: never, resolve } = Promise.withResolvers<boolean>();
  const code = stopWithin(() => never, f.options);
  f.fireTimer();
  assert.equal(await code, 1);
  assert.deepEqual(f.lines, ["Stop deadline passed: exiting"]);
  resolve(true);
  await Promise.resolve();
  assert.deepEqual(f.lines, ["Stop deadline passed: exiting"]);
});

Deno.test("stopWithin: a second signal exits at once with 130", async () => {
  const f = fixture();
  const { promise: again, resolve } = Promise.withResolvers<void>();
  const code = stopWithin(() => new Promise<boolean>(() => {}), { ...f.options, again });
  resolve();
  assert.equal(await code, 130);
  assert.deepEqual(f.lines, ["Second stop signal: exiting at once"]);
});
