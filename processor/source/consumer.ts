/**
 * The readings source: the kafkajs consumer in its group, with manual
 * commits. It reports rebalances and assignments, hands each fetched batch to
 * the pipeline (one partition at a time), pauses fetching on stop, and commits
 * the offsets the pipeline says are safe.
 */
import type { Batch, Consumer, Kafka } from "kafkajs";
import type { Logger } from "@iot/shared";
import type { PartitionOffset } from "./offsets.ts";

/** What the source tells the pipeline. */
export interface SourceHandlers {
  /** A rebalance started: the assignment is not valid until the next `onAssigned`. */
  onRebalancing(): void;
  /** The group assigned these partitions of the topic. */
  onAssigned(partitions: number[]): void;
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

/** Connects the consumer, subscribes and starts fetching. */
export async function startSource(o: SourceOptions): Promise<Source> {
  const consumer: Consumer = o.kafka.consumer({
    groupId: o.groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 3000,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxWaitTimeInMs: 200,
  });
  const ev = consumer.events;
  consumer.on(ev.REBALANCING, () => o.handlers.onRebalancing());
  consumer.on(ev.GROUP_JOIN, (e) => {
    const assignment = (e.payload.memberAssignment as Record<string, number[]>)[o.topic] ?? [];
    o.handlers.onAssigned(assignment);
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
        const last = await o.handlers.onBatch(batch, heartbeat);
        if (last !== undefined) resolveOffset(last);
      },
    });
  } catch (e) {
    await consumer.disconnect().catch(() => {});
    throw e;
  }
  return source;
}
