import assert from "node:assert/strict";
import { listenForStop, SIGNAL_COPY_WINDOW_MS, stopWithin } from "./stop_signals.ts";

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

/** A signal registry the test raises by hand, and a clock it moves. */
function signalFixture() {
  const handlers = new Map<string, () => void>();
  let t = 1000;
  return {
    raise: (sig: "SIGINT" | "SIGTERM") => handlers.get(sig)?.(),
    advance: (ms: number) => void (t += ms),
    registered: () => [...handlers.keys()],
    options: {
      now: () => t,
      listen: (sig: "SIGINT" | "SIGTERM", handler: () => void) => {
        handlers.set(sig, handler);
        return () => void handlers.delete(sig);
      },
    },
  };
}

/** Whether a promise has settled, after the microtasks queued so far. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(() => (done = true));
  await new Promise((r) => setTimeout(r, 0));
  return done;
}

Deno.test("listenForStop: a copy of the first signal within the window (Ctrl-C via deno task) is not a second", async () => {
  const f = signalFixture();
  const signals = listenForStop(f.options);
  assert.deepEqual(f.registered().sort(), ["SIGINT", "SIGTERM"]);
  assert.equal(await settled(signals.first), false);
  f.raise("SIGINT");
  assert.equal(await signals.first, "SIGINT");
  assert.equal(signals.received, "SIGINT");
  f.advance(1);
  f.raise("SIGINT"); // the terminal's and deno task's copies of one Ctrl-C
  f.advance(SIGNAL_COPY_WINDOW_MS - 2);
  f.raise("SIGINT");
  assert.equal(await settled(signals.again), false, "copies within the window are not a second request");
  f.advance(1);
  f.raise("SIGINT");
  assert.equal(await signals.again, "SIGINT", "the same signal once the window has passed is");
  signals.close();
  assert.deepEqual(f.registered(), [], "close removes both handlers");
});

Deno.test("listenForStop: another signal within the window is a second request; so is any later one", async () => {
  const f = signalFixture();
  const signals = listenForStop(f.options);
  f.raise("SIGTERM");
  f.advance(10);
  f.raise("SIGINT");
  assert.equal(await signals.first, "SIGTERM");
  assert.equal(await signals.again, "SIGINT");
  assert.equal(signals.received, "SIGTERM", "the first signal stays the one received");

  const g = signalFixture();
  const zero = listenForStop({ ...g.options, copyWindowMs: 0 });
  g.raise("SIGINT");
  g.raise("SIGINT");
  assert.equal(await zero.again, "SIGINT", "with no window every repeat counts");
});
