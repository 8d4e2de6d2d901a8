import assert from "node:assert/strict";
import { Committer, CommitTimeoutError } from "./committer.ts";
import type { PartitionOffset } from "./offsets.ts";

/** Sleeps that a test ends by hand (or that their signal cuts short), on a fake clock. */
class FakeTimers {
  now = 0;
  sleeps: { ms: number; at: number; resolve: () => void; done: boolean }[] = [];

  sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      const s = { ms, at: this.now + ms, resolve: () => {}, done: false };
      s.resolve = () => {
        if (!s.done) (s.done = true), resolve();
      };
      if (signal?.aborted) return s.resolve();
      signal?.addEventListener("abort", () => s.resolve(), { once: true });
      this.sleeps.push(s);
    });

  /** Moves the clock on by `ms`, ending the sleeps due by then. */
  async advance(ms: number): Promise<void> {
    this.now += ms;
    for (const s of this.sleeps) if (!s.done && s.at <= this.now) s.resolve();
    await settle();
  }

  /** The durations of the sleeps not ended. */
  get waiting(): number[] {
    return this.sleeps.filter((s) => !s.done).map((s) => s.ms);
  }
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

interface Call {
  offsets: readonly PartitionOffset[];
  generation: number;
  joinWaitMs: number;
  answer: PromiseWithResolvers<PartitionOffset[]>;
}

function setup(attemptMs = 5000) {
  const timers = new FakeTimers();
  const calls: Call[] = [];
  const committed: PartitionOffset[][] = [];
  const failed: { error: unknown; failures: number }[] = [];
  const c = new Committer({
    commit: (offsets, generation, joinWaitMs) => {
      const answer = Promise.withResolvers<PartitionOffset[]>();
      calls.push({ offsets, generation, joinWaitMs, answer });
      return answer.promise;
    },
    onCommitted: (done) => committed.push(done),
    onFailed: (error, failures) => failed.push({ error, failures }),
    attemptMs,
    backoff: { initialMs: 250, maxMs: 2000 },
    sleep: timers.sleep,
    now: () => timers.now,
  });
  return { c, timers, calls, committed, failed };
}

const at = (partition: number, offset: number): PartitionOffset => ({ partition, offset });

Deno.test("committer: offers made while an attempt runs coalesce into one attempt with the newest offsets", async () => {
  const { c, calls, committed } = setup();
  c.offer([at(0, 10)], 1);
  await settle();
  assert.equal(calls.length, 1);
  c.offer([at(0, 20), at(1, 5)], 1);
  c.offer([at(0, 30), at(1, 7)], 1);
  await settle();
  assert.equal(calls.length, 1, "one attempt at a time");
  calls[0].answer.resolve([at(0, 10)]);
  await settle();
  assert.equal(calls.length, 2);
  assert.deepEqual(calls[1].offsets, [at(0, 30), at(1, 7)], "the newest offer, the one before it skipped");
  assert.equal(calls[1].joinWaitMs, 0, "a background attempt does not wait for a join");
  calls[1].answer.resolve([at(0, 30), at(1, 7)]);
  await settle();
  assert.deepEqual(committed, [[at(0, 10)], [at(0, 30), at(1, 7)]]);
  assert.equal(c.busy, false);
});

Deno.test("committer: an attempt without an answer fails after its bound, and the next offer goes on after a backoff", async () => {
  const { c, timers, calls, failed, committed } = setup(5000);
  c.offer([at(0, 10)], 1);
  await settle();
  c.offer([at(0, 20)], 1);
  await timers.advance(4999);
  assert.equal(failed.length, 0);
  await timers.advance(1);
  assert.equal(failed.length, 1);
  assert.ok(failed[0].error instanceof CommitTimeoutError, "bounded: the dead coordinator never answers");
  assert.equal(failed[0].failures, 1);
  assert.deepEqual(timers.waiting, [250], "a backoff before the next attempt");
  assert.equal(calls.length, 1);
  await timers.advance(250);
  assert.equal(calls.length, 2);
  assert.deepEqual(calls[1].offsets, [at(0, 20)]);
  calls[1].answer.reject(new Error("NOT_COORDINATOR"));
  await settle();
  assert.equal(failed[1].failures, 2);
  assert.equal(c.busy, true, "backing off");
  assert.deepEqual(timers.waiting.at(-1), 500, "the backoff grows");
  await timers.advance(500);
  assert.equal(calls.length, 2, "a failed offer is not retried by itself: the next flush offers again");
  assert.equal(c.busy, false);
  c.offer([at(0, 20)], 1);
  await settle();
  calls[2].answer.resolve([at(0, 20)]);
  await settle();
  assert.deepEqual(committed, [[at(0, 20)]]);
  assert.equal(c.failures, 0, "a success resets the count");
  // The first attempt answering late changes nothing.
  calls[0].answer.resolve([at(0, 10)]);
  await settle();
  assert.deepEqual(committed, [[at(0, 20)]]);
});

Deno.test("committer: a deferred attempt (group not joined) is not a failure", async () => {
  const { c, calls, failed, committed } = setup();
  c.offer([at(0, 10)], 3);
  await settle();
  calls[0].answer.resolve([]);
  await settle();
  assert.deepEqual(failed, []);
  assert.deepEqual(committed, []);
  assert.equal(c.busy, false);
});

Deno.test("committer: commitNow waits for the attempt in flight, cuts the backoff, retries within its deadline", async () => {
  const { c, timers, calls, committed, failed } = setup(5000);
  c.offer([at(0, 10)], 1);
  await settle();
  calls[0].answer.reject(new Error("connection refused"));
  await settle();
  assert.equal(c.busy, true, "backing off");
  const now = c.commitNow([at(0, 40)], 2, { joinWaitMs: 1000, deadlineMs: 10_000 });
  await settle();
  assert.equal(calls.length, 2, "the backoff was cut short; the final offsets went at once");
  assert.deepEqual(calls[1].offsets, [at(0, 40)]);
  assert.equal(calls[1].generation, 2);
  assert.equal(calls[1].joinWaitMs, 1000);
  calls[1].answer.reject(new Error("connection refused"));
  await settle();
  await timers.advance(250);
  assert.equal(calls.length, 3, "retried");
  calls[2].answer.resolve([at(0, 40)]);
  assert.deepEqual(await now, [at(0, 40)]);
  assert.deepEqual(committed, [[at(0, 40)]]);
  assert.equal(failed.length, 2);
});

Deno.test("committer: commitNow gives up once its deadline passed", async () => {
  const { c, timers, calls } = setup(1000);
  const now = c.commitNow([at(0, 40)], 1, { joinWaitMs: 0, deadlineMs: 2500 });
  const outcome = now.then(() => "committed", (e) => e);
  await settle();
  await timers.advance(1000); // attempt 1 times out
  await timers.advance(250); // backoff
  assert.equal(calls.length, 2);
  await timers.advance(1000); // attempt 2 times out at 2250 ms; the next backoff (500 ms) would pass the deadline
  const error = await outcome;
  assert.ok(error instanceof Error && error.name === "RetryExhaustedError", String(error));
  assert.ok((error as Error).cause instanceof CommitTimeoutError);
});
