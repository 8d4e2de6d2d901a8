/**
 * The readings source: the kafkajs consumer in its group, with manual
 * commits. It reports rebalances and assignments, hands each fetched batch to
 * the pipeline (one partition at a time), pauses fetching on stop, and commits
 * the offsets the pipeline says are safe.
 *
 * Group membership (kafkajs has no background heartbeat thread):
 * - While the pipeline handles a batch, the source heartbeats every
 *   `heartbeatInterval`, so a batch whose writes take long does not let the
 *   session expire (which would move its partitions and replay them).
 * - Once a heartbeat says the group is rebalancing, the batches left of the
 *   same fetch are skipped (not resolved: they are fetched again by whoever
 *   owns them next), so this member rejoins after the batch in hand instead of
 *   after the whole fetch.
 * - After each assignment, the group's committed offsets of the assigned
 *   partitions are read from the broker and reported: a partition gained
 *   with nothing left to read is never committed by its new owner, yet its
 *   committed offset (and its lag of 0) is known.
 */
import type { Admin, Batch, Consumer, Kafka } from "kafkajs";
import type { Logger } from "@iot/shared";
import type { PartitionOffset } from "./offsets.ts";

/** What the source tells the pipeline. */
export interface SourceHandlers {
  /** A rebalance started: the assignment is not valid until the next `onAssigned`. */
  onRebalancing(): void;
  /** The group assigned these partitions of the topic. */
  onAssigned(partitions: number[]): void;
  /** The group's committed offsets of the partitions just assigned, as read from the broker after `onAssigned`. */
  onCommitted(offsets: PartitionOffset[]): void;
  /** The consumer crashed and will not restart by itself. */
  onFatal(): void;
  /**
   * One fetched batch. Return the last offset handled (resolved) or undefined
   * when the batch was abandoned (it is fetched again).
   */
  onBatch(batch: Batch, heartbeat: () => Promise<void>): Promise<string | undefined>;
}

/** Options of `startSource`. */
export interface SourceOptions {
  kafka: Kafka;
  /** Reads the group's committed offsets after each assignment. */
  admin: Admin;
  groupId: string;
  topic: string;
  fromBeginning: boolean;
  log: Logger;
  handlers: SourceHandlers;
}

/** A running source. */
export interface Source {
  /** Stops fetching (the current batch finishes). */
  pause(): void;
  /** Commits next-offsets to read. */
  commit(offsets: readonly PartitionOffset[]): Promise<void>;
  /** Moves a partition's next fetch to `offset` (after abandoned work). */
  seek(partition: number, offset: number): void;
  /** Leaves the group and closes. */
  disconnect(): Promise<void>;
}

const SESSION_TIMEOUT_MS = 30_000;
const HEARTBEAT_INTERVAL_MS = 3000;

/** Heartbeat errors after which kafkajs rejoins the group (a rebalance, a new generation or coordinator, eviction). */
const REJOIN_ERRORS = new Set([
  "REBALANCE_IN_PROGRESS",
  "ILLEGAL_GENERATION",
  "NOT_COORDINATOR_FOR_GROUP",
  "UNKNOWN_MEMBER_ID",
]);

/** Whether a heartbeat error means this member must rejoin the group. */
export function isRejoinError(e: unknown): boolean {
  return REJOIN_ERRORS.has(String((e as { type?: unknown })?.type));
}

/** Connects the consumer, subscribes and starts fetching. */
export async function startSource(o: SourceOptions): Promise<Source> {
  const consumer: Consumer = o.kafka.consumer({
    groupId: o.groupId,
    sessionTimeout: SESSION_TIMEOUT_MS,
    heartbeatInterval: HEARTBEAT_INTERVAL_MS,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxWaitTimeInMs: 200,
  });
  /** A heartbeat said to rejoin: the rest of the fetch is skipped until the next assignment. */
  let rejoinPending = false;
  let assignments = 0;
  const ev = consumer.events;
  consumer.on(ev.REBALANCING, () => o.handlers.onRebalancing());
  consumer.on(ev.HEARTBEAT, () => (rejoinPending = false));
  consumer.on(ev.GROUP_JOIN, (e) => {
    rejoinPending = false;
    const assignment = (e.payload.memberAssignment as Record<string, number[]>)[o.topic] ?? [];
    o.handlers.onAssigned(assignment);
    const generation = ++assignments;
    readCommitted(o, assignment)
      .then((offsets) => {
        if (generation === assignments) o.handlers.onCommitted(offsets);
      })
      .catch((error) => o.log.debug("Could not read the committed offsets of the assignment", { error }));
  });
  consumer.on(ev.CRASH, (e) => {
    const fields = { error: e.payload.error, restart: e.payload.restart };
    if (e.payload.restart) o.log.warn("Consumer restarting after an error", fields);
    else {
      o.handlers.onFatal(); // /healthz turns 503: the consumer will not come back by itself
      o.log.error("Consumer crashed", fields);
    }
  });
  const source: Source = {
    pause() {
      try {
        consumer.pause([{ topic: o.topic }]);
      } catch { /* not running */ }
    },
    async commit(offsets) {
      await consumer.commitOffsets(
        offsets.map((x) => ({ topic: o.topic, partition: x.partition, offset: String(x.offset) })),
      );
    },
    seek(partition, offset) {
      consumer.seek({ topic: o.topic, partition, offset: String(offset) });
    },
    disconnect: () => consumer.disconnect(),
  };
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: o.topic, fromBeginning: o.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        if (rejoinPending) return; // kafkajs rejoins after this fetch; the batch is fetched again
        const beat = () =>
          heartbeat().catch((e) => {
            if (isRejoinError(e)) rejoinPending = true;
            throw e;
          });
        const keepAlive = setInterval(() => beat().catch(() => {}), HEARTBEAT_INTERVAL_MS);
        try {
          const last = await o.handlers.onBatch(batch, beat);
          if (last !== undefined) resolveOffset(last);
        } finally {
          clearInterval(keepAlive);
        }
      },
    });
  } catch (e) {
    await consumer.disconnect().catch(() => {});
    throw e;
  }
  return source;
}

/** The group's committed offsets of `partitions` (partitions without a commit are left out). */
async function readCommitted(o: SourceOptions, partitions: readonly number[]): Promise<PartitionOffset[]> {
  if (partitions.length === 0) return [];
  const owned = new Set(partitions);
  const topics = await o.admin.fetchOffsets({ groupId: o.groupId, topics: [o.topic] });
  return (topics[0]?.partitions ?? [])
    .map((p) => ({ partition: p.partition, offset: Number(p.offset) }))
    .filter((p) => owned.has(p.partition) && p.offset >= 0);
}
