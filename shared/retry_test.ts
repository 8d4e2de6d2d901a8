import assert from "node:assert/strict";
import { backoffDelay, retry, RetryExhaustedError } from "./retry.ts";

Deno.test("backoffDelay grows exponentially and is capped", () => {
  assert.deepEqual([1, 2, 3, 4, 10].map((n) => backoffDelay(n)), [100, 200, 400, 800, 5000]);
  assert.equal(backoffDelay(3, { initialMs: 50, maxMs: 150 }), 150);
  assert.equal(backoffDelay(0), 100);
});

Deno.test("backoffDelay jitter only shortens the delay", () => {
  assert.equal(backoffDelay(2, { jitter: 1, random: () => 0 }), 200);
  assert.equal(backoffDelay(2, { jitter: 0.5, random: () => 0.999999 }), 100);
});

function fakeTime() {
  let t = 0;
  const slept: number[] = [];
  return {
    now: () => t,
    sleep: (ms: number) => {
      slept.push(ms);
      t += ms;
      return Promise.resolve();
    },
    slept,
  };
}

Deno.test("retry returns the first success and reports each retry", async () => {
  const time = fakeTime();
  const seen: number[] = [];
  const v = await retry((n) => n < 3 ? Promise.reject(new Error(`fail ${n}`)) : Promise.resolve(n), {
    ...time,
    onRetry: ({ attempt }) => void seen.push(attempt),
  });
  assert.equal(v, 3);
  assert.deepEqual(seen, [1, 2]);
  assert.deepEqual(time.slept, [100, 200]);
});

Deno.test("retry gives up at the attempt bound with the last error as cause", async () => {
  const time = fakeTime();
  const err = await retry(() => Promise.reject(new Error("down")), { ...time, maxAttempts: 3 }).catch((e) => e);
  assert.ok(err instanceof RetryExhaustedError);
  assert.equal(err.attempts, 3);
  assert.equal((err.cause as Error).message, "down");
});

Deno.test("retry gives up at the deadline in time", async () => {
  const time = fakeTime();
  const err = await retry(() => Promise.reject(new Error("down")), { ...time, deadlineMs: 1000 }).catch((e) => e);
  assert.ok(err instanceof RetryExhaustedError);
  assert.ok(err.elapsedMs <= 1000);
  assert.deepEqual(time.slept, [100, 200, 400]);
});

Deno.test("retry throws a non-retriable error at once", async () => {
  const time = fakeTime();
  let calls = 0;
  const err = await retry(() => {
    calls++;
    return Promise.reject(new TypeError("bad"));
  }, { ...time, isRetriable: (e) => !(e instanceof TypeError) }).catch((e) => e);
  assert.ok(err instanceof TypeError);
  assert.equal(calls, 1);
});

Deno.test("retry stops when aborted", async () => {
  const ac = new AbortController();
  let calls = 0;
  const err = await retry(() => {
    calls++;
    ac.abort();
    return Promise.reject(new Error("down"));
  }, { signal: ac.signal }).catch((e) => e);
  assert.equal((err as Error).message, "down");
  assert.equal(calls, 1);
});
