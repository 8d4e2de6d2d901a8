import assert from "node:assert/strict";
import { RateController } from "./rate.ts";

/** Drives a controller with a fake clock like the producer loop does; returns send times. */
function simulate(rate: number, seconds: number, opts: { maxBatch?: number; stallAt?: number; stallMs?: number } = {}) {
  const rc = new RateController({ rate, start: 0, maxBatch: opts.maxBatch ?? 10_000, lingerMs: 5 });
  let now = 0;
  let sent = 0;
  let wakeups = 0;
  const perSecond = new Array(seconds).fill(0);
  while (now < seconds * 1000) {
    if (opts.stallAt !== undefined && now >= opts.stallAt && now < opts.stallAt + (opts.stallMs ?? 0)) {
      now = opts.stallAt + (opts.stallMs ?? 0);
      continue;
    }
    const n = rc.take(now);
    if (n > 0) {
      sent += n;
      perSecond[Math.floor(now / 1000)] += n;
      now += 0.05; // sending takes a little time
      continue;
    }
    const wait = rc.waitMs(now);
    assert.ok(wait > 0, "never busy-waits when nothing is due");
    wakeups++;
    now += wait;
  }
  return { sent, perSecond, wakeups, rc, now };
}

Deno.test("holds the target rate over 10 s from 1 to 200k msg/s", () => {
  for (const rate of [1, 7.5, 100, 1000, 20_000, 200_000]) {
    const { sent } = simulate(rate, 10);
    const expected = rate * 10;
    assert.ok(Math.abs(sent - expected) <= Math.max(1, 0.02 * expected), `rate ${rate}: ${sent} vs ${expected}`);
  }
});

Deno.test("sleeps between batches instead of spinning, and batches at high rates", () => {
  const slow = simulate(1, 10);
  assert.ok(slow.wakeups <= 60, `${slow.wakeups} wake-ups for 10 messages`);
  const fast = simulate(100_000, 2);
  // With a 5 ms linger, about 200 batches per second rather than 100k sends.
  assert.ok(fast.wakeups <= 2 * 1000 / 5 + 5, `${fast.wakeups} wake-ups`);
});

Deno.test("catches up after a stall (open loop) and reports being behind meanwhile", () => {
  const rc = new RateController({ rate: 1000, start: 0, maxBatch: 500, behindMs: 1000 });
  assert.equal(rc.take(100), 100);
  assert.equal(rc.behind(1000), false);
  assert.equal(rc.behind(3100), true);
  assert.equal(Math.round(rc.lagMs(3100)), 3000);
  let sent = 100;
  while (rc.due(3100) > 0) sent += rc.take(3100);
  assert.equal(sent, 3100, "everything due is handed out, in batches of at most 500");
  assert.equal(rc.behind(3100), false);
  const r = simulate(1000, 10, { stallAt: 2000, stallMs: 3000 });
  assert.ok(Math.abs(r.sent - 10_000) <= 200, `${r.sent} after a 3 s stall`);
});

Deno.test("take never exceeds maxBatch; rate 0 is unbounded", () => {
  const rc = new RateController({ rate: 1000, start: 0, maxBatch: 64 });
  assert.equal(rc.take(10_000), 64);
  const max = new RateController({ rate: 0, start: 0, maxBatch: 5000 });
  assert.equal(max.take(0), 5000);
  assert.equal(max.take(0), 5000);
  assert.equal(max.waitMs(0), 0);
  assert.equal(max.lagMs(0), 0);
  assert.equal(max.behind(1e9), false);
});

Deno.test("waits until the next message is due, at least the linger and at most maxWaitMs", () => {
  const rc = new RateController({ rate: 2, start: 0, maxBatch: 10, lingerMs: 5, maxWaitMs: 250 });
  assert.equal(rc.take(0), 0);
  assert.equal(rc.waitMs(0), 250);
  assert.equal(rc.waitMs(400), 100);
  assert.equal(rc.take(500), 1);
  assert.equal(rc.waitMs(999), 5);
  assert.throws(() => new RateController({ rate: -1, start: 0, maxBatch: 1 }), RangeError);
  assert.throws(() => new RateController({ rate: 1, start: 0, maxBatch: 0 }), RangeError);
});
