import assert from "node:assert/strict";
import { OffsetTracker } from "./offsets.ts";

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("a batch becomes committable only after its writes and every earlier batch of its partition", async () => {
  const t = new OffsetTracker();
  t.assign([0, 1]);
  const a = Promise.withResolvers<void>();
  const b = Promise.withResolvers<void>();
  const c = Promise.withResolvers<void>();
  t.track(0, 10, a.promise);
  t.track(0, 20, b.promise);
  t.track(1, 5, c.promise);
  b.resolve();
  c.resolve();
  await tick();
  assert.deepEqual(t.committable(), [{ partition: 1, offset: 5 }], "partition 0 waits for its first batch");
  a.resolve();
  await t.drain();
  assert.deepEqual(t.committable().sort((x, y) => x.partition - y.partition), [
    { partition: 0, offset: 20 },
    { partition: 1, offset: 5 },
  ]);
  t.committed(t.committable());
  assert.deepEqual(t.committable(), [], "nothing new after the commit");
  assert.deepEqual(t.committedAll(), { "0": 20, "1": 5 });
});

Deno.test("a failed batch never becomes committable, nor any later batch of its partition", async () => {
  const t = new OffsetTracker();
  t.assign([0]);
  const a = Promise.withResolvers<void>();
  const first = t.track(0, 10, a.promise);
  const second = t.track(0, 20, Promise.resolve());
  a.reject(new Error("write failed"));
  await assert.rejects(first);
  await assert.rejects(second);
  assert.deepEqual(t.committable(), []);
  await tick();
  assert.equal(t.inflight, 0);
  await t.drain();
});

Deno.test("a revoked partition's progress is forgotten and its in-flight batches complete nothing", async () => {
  const t = new OffsetTracker();
  t.assign([0, 1]);
  const a = Promise.withResolvers<string>();
  let ran = false;
  t.track(0, 10, a.promise, () => (ran = true));
  t.folded(0, 9);
  const change = t.assign([1, 2]);
  assert.deepEqual(change, { revoked: [0], gained: [2] });
  a.resolve("x");
  await t.drain();
  assert.equal(ran, false, "the detection callback of a revoked batch does not run");
  assert.deepEqual(t.committable(), []);
  assert.equal(t.foldedUpTo(0), -1);
  t.assign([0, 1, 2]);
  t.track(0, 3, Promise.resolve());
  await t.drain();
  assert.deepEqual(t.committable(), [{ partition: 0, offset: 3 }], "re-gained: resumes from the new batches");
});

Deno.test("rewind forgets uncommitted progress of every partition but keeps the assignment", async () => {
  const t = new OffsetTracker();
  t.assign([0]);
  t.track(0, 10, Promise.resolve());
  await t.drain();
  t.committed(t.committable());
  t.track(0, 20, Promise.resolve());
  await t.drain();
  assert.deepEqual(t.uncommitted(), { "0": { processed: 20, committed: 10 } });
  t.rewind();
  assert.deepEqual(t.uncommitted(), {});
  assert.deepEqual(t.assigned, [0]);
  assert.equal(t.committedOffset(0), undefined);
});

Deno.test("waitBelow applies back-pressure until few enough batches are in flight", async () => {
  const t = new OffsetTracker();
  t.assign([0]);
  const gates = [Promise.withResolvers<void>(), Promise.withResolvers<void>(), Promise.withResolvers<void>()];
  for (const [i, g] of gates.entries()) t.track(0, i + 1, g.promise);
  let waited = false;
  const w = t.waitBelow(1).then(() => (waited = true));
  await tick();
  assert.equal(waited, false);
  gates[0].resolve();
  gates[1].resolve();
  await w;
  assert.equal(t.inflight <= 1, true);
  gates[2].resolve();
  await t.drain();
  assert.deepEqual(t.committable(), [{ partition: 0, offset: 3 }]);
});

Deno.test("consume-only batches are committable at once, for owned partitions only", () => {
  const t = new OffsetTracker();
  t.assign([0]);
  t.complete(0, 7);
  t.complete(3, 9);
  assert.deepEqual(t.committable(), [{ partition: 0, offset: 7 }]);
  assert.equal(t.owns(0), true);
  assert.equal(t.owns(3), false);
});

Deno.test("a gained partition's committed offset is known from the group until this instance commits it", () => {
  const t = new OffsetTracker();
  t.assign([0, 1]);
  t.committed([{ partition: 0, offset: 50 }]);
  t.assign([0, 1, 2]);
  t.knownCommitted([{ partition: 0, offset: 40 }, { partition: 2, offset: 30 }, { partition: 5, offset: 9 }]);
  assert.equal(t.committedOffset(0), 50, "this instance's own commit is newer than what the broker said");
  assert.equal(t.committedOffset(2), 30, "the gained partition's committed offset, with nothing left to read");
  assert.equal(t.committedOffset(5), undefined, "not owned: ignored");
  assert.deepEqual(t.committable(), [], "a known committed offset is nothing to commit");
  t.complete(2, 30);
  assert.deepEqual(t.committable(), [], "processed up to the committed offset: still nothing to commit");
  t.complete(2, 45);
  assert.deepEqual(t.committable(), [{ partition: 2, offset: 45 }]);
  t.assign([0, 1]);
  assert.equal(t.committedOffset(2), undefined, "revoked: forgotten");
});

Deno.test("partitions kept through a rejoin resume after the last offset folded, not at the committed one", () => {
  const t = new OffsetTracker();
  t.assign([0, 1, 2]);
  t.folded(0, 99);
  t.folded(1, 40);
  t.committed([{ partition: 0, offset: 50 }, { partition: 1, offset: 41 }]);
  t.assign([0, 1, 2, 3]);
  assert.deepEqual(
    t.resumePositions([0, 1, 2]),
    [{ partition: 0, offset: 100 }, { partition: 1, offset: 41 }],
    "partition 2 has nothing folded: it starts at the committed offset",
  );
  t.rewind();
  assert.deepEqual(t.resumePositions([0, 1]), [], "after a rewind everything is read again from the committed offsets");
  t.folded(0, 10);
  t.assign([1]);
  assert.deepEqual(t.resumePositions([0]), [], "a partition not owned is not resumed");
});
