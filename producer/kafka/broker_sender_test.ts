import assert from "node:assert/strict";
import type { PartitionBatch } from "./batch.ts";
import { BrokerSender, type BrokerSenderOptions } from "./broker_sender.ts";
import type { Connection } from "./connection.ts";
import { KafkaConnectionError } from "./errors.ts";
import { RecordBatchBuilder } from "./protocol/record_batch.ts";
import { Sequencer } from "./sequencer.ts";

let order = 0;
/** A batch as the producer makes it: registered with the sequencer when created. */
function batch(sequencer: Sequencer, partition: number): PartitionBatch {
  const b = new RecordBatchBuilder();
  b.add(new TextEncoder().encode("k"), "v");
  const created: PartitionBatch = {
    partition,
    bytes: b.build(1, sequencer.identity, -1, "none"),
    count: 1,
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
  sequencer.register(created);
  return created;
}

/** A connection that answers every request at once (acks=0: no response body). */
const answering = { closed: false, request: () => Promise.resolve(null), close: () => {} } as unknown as Connection;

/** Lets pending promise callbacks and zero-delay timers run. */
const settleDown = () => new Promise((r) => setTimeout(r, 10));

/** An idempotent sequencer past partition 0's first batch (which would otherwise be sent alone). */
function sequencerPastFirst(): Sequencer {
  const s = new Sequencer(true);
  s.ensurePartitions(1);
  s.setIdentity({ producerId: 7n, producerEpoch: 0 });
  const first = batch(s, 0);
  s.assign(first);
  s.acked(first);
  return s;
}

function sender(node: number, sequencer: Sequencer, o: Partial<BrokerSenderOptions>): BrokerSender {
  return new BrokerSender({
    node,
    topic: "t",
    acks: 0,
    requestTimeoutMs: 1000,
    maxInFlight: 5,
    connect: () => Promise.resolve(answering),
    leads: () => true,
    handOver: () => assert.fail("nothing to hand over"),
    sequencer,
    onAcked: () => {},
    onRetriable: () => {},
    onFailed: (_, e) => assert.fail(e),
    ...o,
  });
}

Deno.test("a newer batch at another broker's sender gets no sequence before an older batch still waiting for its broker", async () => {
  // The partition's leader flipped between the two batches (as in a broker's shutdown and restart): the
  // older batch waits at the old leader's sender for a connection that fails, the newer one is at a
  // connected sender.
  const s = sequencerPastFirst();
  const acked: PartitionBatch[] = [];
  let refuse!: (e: Error) => void;
  const retried: PartitionBatch[] = [];
  const old = sender(1, s, {
    connect: () => new Promise((_, reject) => refuse = reject),
    onRetriable: (b) => retried.push(b),
  });
  const current = sender(2, s, {
    onAcked: (b) => {
      s.acked(b);
      acked.push(b);
    },
  });
  const older = batch(s, 0), newer = batch(s, 0);
  old.enqueue(older);
  current.enqueue(newer);
  await settleDown();
  assert.deepEqual(acked, [], "the newer batch waits: it would take a sequence below the older one's");
  assert.equal(newer.baseSequence, -1);

  refuse(new KafkaConnectionError("Connection refused"));
  await settleDown();
  assert.deepEqual(retried, [older]);
  // The producer re-sends it, after its backoff, to the partition's current leader.
  current.enqueue(older, true);
  await settleDown();
  assert.deepEqual(acked, [older, newer], "sent in creation order");
  assert.ok(older.baseSequence < newer.baseSequence, "sequences in creation order");
});

Deno.test("batches queued at a broker that no longer leads their partition go to the new leader, in order", async () => {
  const s = sequencerPastFirst();
  let leader = 1;
  const acked: PartitionBatch[] = [];
  const senders = new Map<number, BrokerSender>();
  const options = (node: number): Partial<BrokerSenderOptions> => ({
    // The old leader is down: its connect never completes within this test.
    connect: node === 1 ? () => new Promise(() => {}) : () => Promise.resolve(answering),
    leads: () => leader === node,
    handOver: (b, retry) => senders.get(leader)!.enqueue(b, retry),
    onAcked: (b) => {
      s.acked(b);
      acked.push(b);
    },
  });
  senders.set(1, sender(1, s, options(1)));
  senders.set(2, sender(2, s, options(2)));
  const a = batch(s, 0), b = batch(s, 0), c = batch(s, 0);
  senders.get(1)!.enqueue(a);
  senders.get(1)!.enqueue(b);
  await settleDown();
  // The metadata shows the new leader: newer batches go there, and the producer pumps every sender.
  leader = 2;
  senders.get(2)!.enqueue(c);
  await settleDown();
  assert.deepEqual(acked, [], "c waits for the older batches stranded at the old leader");
  senders.get(1)!.pump();
  await settleDown();
  assert.deepEqual(acked, [a, b, c]);
  assert.deepEqual([a, b, c].map((x) => x.baseSequence), [1, 2, 3]);
  for (const x of senders.values()) x.close();
});
