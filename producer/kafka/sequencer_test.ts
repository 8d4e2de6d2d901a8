import assert from "node:assert/strict";
import type { PartitionBatch } from "./batch.ts";
import { RecordBatchBuilder } from "./protocol/record_batch.ts";
import { Sequencer } from "./sequencer.ts";

let order = 0;
function batch(partition: number, count: number): PartitionBatch {
  const b = new RecordBatchBuilder();
  for (let i = 0; i < count; i++) b.add(new TextEncoder().encode("k"), `v${i}`);
  return {
    partition,
    bytes: b.build(1, { producerId: -1n, producerEpoch: -1 }, -1, "none"),
    count,
    baseSequence: -1,
    generation: -1,
    order: order++,
    splits: 0,
    records: [],
    timestamp: 1,
    createdAt: 0,
    attempts: 0,
    settle: () => {},
  };
}
const view = (b: PartitionBatch) => new DataView(b.bytes.buffer, b.bytes.byteOffset);

Deno.test("sequences grow per partition and are patched into the batch with the producer id", () => {
  const s = new Sequencer(true);
  s.ensurePartitions(2);
  s.setIdentity({ producerId: 9n, producerEpoch: 1 });
  const a = batch(0, 3), b = batch(0, 2), c = batch(1, 4);
  s.assign(a);
  s.acked(a);
  s.assign(b);
  s.assign(c);
  assert.deepEqual([a.baseSequence, b.baseSequence, c.baseSequence], [0, 3, 0]);
  assert.equal(view(b).getBigInt64(43), 9n);
  assert.equal(view(b).getInt16(51), 1);
  assert.equal(view(b).getInt32(53), 3);
  // A retry keeps its sequence.
  s.assign(a);
  assert.equal(a.baseSequence, 0);
  const d = batch(0, 1);
  s.assign(d);
  assert.equal(d.baseSequence, 5);
});

Deno.test("a batch waiting out a backoff holds back newer batches of its partition only", () => {
  const s = new Sequencer(true);
  s.ensurePartitions(2);
  s.setIdentity({ producerId: 1n, producerEpoch: 0 });
  const old = batch(0, 1), newer = batch(0, 1), other = batch(1, 1);
  s.assign(old);
  s.acked(old);
  s.backingOff(old);
  assert.equal(s.mustWait(newer), true);
  assert.equal(s.mustWait(other), false);
  assert.equal(s.mustWait(old), false, "a batch does not wait for itself");
  s.resumed(old);
  assert.equal(s.mustWait(newer), false);
});

Deno.test("a definitive failure starts a new generation: sending waits, then sequences restart at 0", () => {
  const s = new Sequencer(true);
  s.ensurePartitions(1);
  s.setIdentity({ producerId: 1n, producerEpoch: 0 });
  const a = batch(0, 2), b = batch(0, 2);
  s.assign(a);
  s.acked(a);
  s.assign(b);
  assert.equal(s.failed(b), true, "a gap: new producer id needed");
  assert.equal(s.resetting, true);
  assert.equal(s.generation, 1);
  assert.equal(s.failed(a), false, "one reset at a time");
  assert.equal(s.mustWait(b), true);
  // A batch of the old generation waiting out a backoff takes its new sequence before newer batches.
  s.backingOff(b);
  s.setIdentity({ producerId: 2n, producerEpoch: 0 });
  const c = batch(0, 1);
  assert.equal(s.mustWait(c), true);
  s.resumed(b);
  assert.equal(s.mustWait(b), false);
  s.assign(b);
  assert.equal(s.mustWait(c), true, "the first batch of the new generation goes alone");
  s.acked(b);
  s.assign(c);
  assert.deepEqual([b.baseSequence, c.baseSequence], [0, 2]);
  assert.equal(view(b).getBigInt64(43), 2n);
  assert.equal(s.failed({ ...a }), false, "a batch of an old generation leaves no gap in the new one");
});

Deno.test("a partition's first batch of a generation is sent alone, until acknowledged", () => {
  const s = new Sequencer(true);
  s.ensurePartitions(2);
  s.setIdentity({ producerId: 1n, producerEpoch: 0 });
  const first = batch(0, 1), second = batch(0, 1), other = batch(1, 1);
  assert.equal(s.mustWait(first), false);
  s.assign(first);
  assert.equal(s.mustWait(second), true);
  assert.equal(s.mustWait(first), false, "its own retry does not wait");
  assert.equal(s.mustWait(other), false, "other partitions do not wait");
  s.acked(first);
  assert.equal(s.mustWait(second), false);
});

Deno.test("after a new producer id, an unresolved batch of the old one goes before newer batches", () => {
  const s = new Sequencer(true);
  s.ensurePartitions(2);
  s.setIdentity({ producerId: 1n, producerEpoch: 0 });
  const a = batch(0, 1), inFlight = batch(0, 1), other = batch(1, 1), newer = batch(0, 1);
  s.assign(a);
  s.acked(a);
  s.assign(inFlight);
  s.assign(other);
  assert.equal(s.failed(other), true, "partition 1 needs a new producer id");
  s.setIdentity({ producerId: 2n, producerEpoch: 0 });
  assert.equal(s.mustWait(newer), true, "partition 0's batch of the old id is still in flight");
  assert.equal(s.mustWait(inFlight), false);
  s.settled(inFlight); // acknowledged, failed or split: resolved either way
  assert.equal(s.mustWait(newer), false);
});

Deno.test("a producer that is not idempotent never waits and never patches", () => {
  const s = new Sequencer(false);
  s.ensurePartitions(1);
  const a = batch(0, 1), b = batch(0, 1);
  s.assign(a);
  s.backingOff(a);
  assert.equal(a.baseSequence, -1);
  assert.equal(s.mustWait(b), false);
  assert.equal(s.failed(a), false);
});

Deno.test("a registered batch without a sequence holds back newer batches of its partition, wherever it waits", () => {
  const s = new Sequencer(true);
  s.ensurePartitions(2);
  s.setIdentity({ producerId: 1n, producerEpoch: 0 });
  const first = batch(0, 1);
  s.assign(first);
  s.acked(first);
  const older = batch(0, 1), newer = batch(0, 1), other = batch(1, 1);
  for (const b of [older, newer, other]) s.register(b);
  assert.equal(s.mustWait(newer), true, "the older batch has no sequence yet");
  assert.equal(s.mustWait(older), false);
  assert.equal(s.mustWait(other), false, "other partitions do not wait");
  s.assign(older);
  assert.equal(s.mustWait(newer), false);
  s.assign(newer);
  assert.ok(older.baseSequence < newer.baseSequence);
});
