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
 *
 * A broker loss is a reconnect, not a crash:
 * - the consumer's retries (about a minute at intervals of at most 1 s) cover
 *   a leader failover; the metadata is re-read before a fetch once it is 2 s
 *   old, so a partition whose leader moved is fetched from the new leader
 *   soon after the election. Only after a minute of failures kafkajs restarts
 *   the consumer (`restartOnFailure`, logged).
 * - the group coordinator lost: kafkajs keeps heartbeating the broker it
 *   joined through until its retries run out, then restarts the consumer as
 *   a new member, which waits out the old member's session (30 s). Instead,
 *   once no heartbeat succeeded for `COORDINATOR_LOST_MS`, the next batch is
 *   refused with NOT_COORDINATOR_FOR_GROUP (before the pipeline sees it: it
 *   is fetched again), on which kafkajs looks the coordinator up and rejoins
 *   with the same member id, so the new coordinator completes the rebalance
 *   at once. The assignment comes again through `onAssigned`. Until then, a
 *   heartbeat that fails on the connection does not stop fetching from the
 *   partitions' leaders (`kafkajs_fix.ts`).
 * - commits: never on a group not joined (a commit waits for the join as
 *   long as its caller allows, then defers to the next flush), and only of
 *   the partitions of the generation the caller took its offsets in. A
 *   commit is one request to the coordinator the group joined through
 *   (`commitOffsetsIfNecessary` of the last batch, which kafkajs does not
 *   retry): `consumer.commitOffsets` retries for as long as the consumer's
 *   retries last (about a minute) against that same coordinator, which only
 *   a rejoin replaces. The caller bounds and repeats it (`committer.ts`).
 */
import type { Admin, Batch, Consumer, ConsumerRunConfig, EachBatchPayload, Kafka } from "kafkajs";
import type { Logger } from "@iot/shared";
import type { PartitionOffset } from "./offsets.ts";
import "./kafkajs_fix.ts";

/** What the source tells the pipeline. */
export interface SourceHandlers {
  /** A rebalance started: the assignment is not valid until the next `onAssigned`. */
  onRebalancing(): void;
  /**
   * The group assigned these partitions of the topic. Returns where to resume partitions kept through
   * the rejoin (fetched from there instead of from the committed offsets), if anywhere.
   */
  onAssigned(partitions: number[]): readonly PartitionOffset[] | void;
  /** The group's committed offsets of the partitions just assigned, as read from the broker after `onAssigned`. */
  onCommitted(offsets: PartitionOffset[]): void;
  /** The consumer crashed and will not restart by itself. */
  onFatal(): void;
  /**
   * One fetched batch. Return the last offset handled (resolved) or undefined
   * when the batch was abandoned (it is fetched again). `isStale` turns true
   * once its partition was sought (`Source.seek`) after the batch was fetched:
   * kafkajs still hands over the rest of a fetch response after a seek, and
   * such a batch must be dropped unread (its records are fetched again from
   * the new position).
   */
  onBatch(batch: Batch, heartbeat: () => Promise<void>, isStale: () => boolean): Promise<string | undefined>;
}

/** Options of `startSource`. */
export interface SourceOptions {
  kafka: Kafka;
  /** Reads the group's committed offsets after each assignment. */
  admin: Admin;
  groupId: string;
  topic: string;
  fromBeginning: boolean;
  /** How long the broker may hold a fetch for `FETCH_MIN_BYTES` to gather (default 25 ms). */
  fetchWaitMs?: number;
  log: Logger;
  handlers: SourceHandlers;
}

/** A running source. */
export interface Source {
  /** Stops fetching (the current batch finishes). */
  pause(): void;
  /** The group generation this member last joined (bumped by each join; 0 before the first). */
  readonly generation: number;
  /**
   * Commits next-offsets to read, taken in `generation`: never on a group not joined (waits up to
   * `joinWaitMs` for the join, default 0), only the partitions of that generation's assignment. Returns
   * those committed: none when the group was not joined in time or a new generation started since.
   * One request, not retried (the caller bounds and repeats it).
   */
  commit(offsets: readonly PartitionOffset[], generation: number, joinWaitMs?: number): Promise<PartitionOffset[]>;
  /** Moves a partition's next fetch to `offset` (after abandoned work). */
  seek(partition: number, offset: number): void;
  /** Leaves the group and closes. */
  disconnect(): Promise<void>;
}

const SESSION_TIMEOUT_MS = 30_000;
const HEARTBEAT_INTERVAL_MS = 3000;
/** Retries of the consumer (fetch loop, join, coordinator lookup): about a minute at most 1 s apart. */
const RECONNECT_RETRY = { initialRetryTime: 100, maxRetryTime: 1000, retries: 60 };
/** Metadata older than this is re-read before a fetch (kafkajs's default is 5 minutes). */
const METADATA_MAX_AGE_MS = 2000;
/** No heartbeat succeeded for this long while joined: the coordinator is presumed lost and the group rejoined. */
export const COORDINATOR_LOST_MS = 2 * HEARTBEAT_INTERVAL_MS;
/** After a rejoin asked for, the next one is asked for no sooner than this (the lookup may find the dead node). */
const REJOIN_AGAIN_MS = 2000;

/**
 * The error that makes kafkajs's fetch loop look the coordinator up and rejoin with the same member id:
 * it rejoins on the protocol error type NOT_COORDINATOR_FOR_GROUP (`isRebalancing`). kafkajs logs an
 * error thrown by `eachBatch`; the word "rebalancing" in the message makes our log factory file that line
 * under debug (`shared/kafka.ts`), beside the source's own warning.
 */
export class CoordinatorLostError extends Error {
  override name = "CoordinatorLostError";
  readonly type = "NOT_COORDINATOR_FOR_GROUP";
  readonly code = 16;
  readonly retriable = true;
  constructor(silentMs: number) {
    super(`No heartbeat reached the group coordinator for ${Math.round(silentMs)} ms: rebalancing to find it again`);
  }
}

/** A fetch returns once this much is there, or after `fetchWaitMs`. */
export const FETCH_MIN_BYTES = 1024 * 1024;

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
    // Fewer, larger batches: a fetch returned at the first record makes every few records a batch, with
    // its own inserts and window updates (about 380 batches/s at 1,000 msg/s), which costs the broker,
    // MongoDB and this process more CPU than the wait adds latency.
    minBytes: FETCH_MIN_BYTES,
    maxWaitTimeInMs: o.fetchWaitMs ?? 25,
    metadataMaxAge: METADATA_MAX_AGE_MS,
    retry: {
      ...RECONNECT_RETRY,
      restartOnFailure: (error) => {
        // kafkajs gave up its retries (about a minute), or failed at once on a retriable error such as
        // COORDINATOR_LOAD_IN_PROGRESS while a new group's coordinator loads.
        o.log.error("The consumer failed with a retriable error: restarting it", { error });
        return Promise.resolve(true);
      },
    },
  });
  /** A heartbeat said to rejoin: the rest of the fetch is skipped until the next assignment. */
  let rejoinPending = false;
  let generation = 0;
  let assignment = new Set<number>();
  /** One commit request through the consumer group of the running consumer (kafkajs does not retry it). */
  let commitOnce: EachBatchPayload["commitOffsetsIfNecessary"] | undefined;
  const group = new GroupState();
  const ev = consumer.events;
  consumer.on(ev.REBALANCING, () => {
    group.left();
    o.handlers.onRebalancing();
  });
  consumer.on(ev.HEARTBEAT, () => {
    rejoinPending = false;
    group.heartbeat();
  });
  consumer.on(ev.GROUP_JOIN, (e) => {
    rejoinPending = false;
    const partitions = (e.payload.memberAssignment as Record<string, number[]>)[o.topic] ?? [];
    const current = ++generation;
    assignment = new Set(partitions);
    group.joined();
    const resume = o.handlers.onAssigned(partitions) ?? [];
    // Applied by kafkajs at the next fetch of this generation, before it would start at the committed offsets.
    try {
      for (const r of resume) consumer.seek({ topic: o.topic, partition: r.partition, offset: String(r.offset) });
      if (resume.length) o.log.debug("Resuming kept partitions where they were", { resume });
    } catch (error) {
      // Not running any more: the next run starts at the committed offsets, which is safe (read again).
      o.log.debug("Could not resume the kept partitions where they were", { error });
    }
    readCommitted(o, partitions)
      .then((offsets) => {
        if (current === generation) o.handlers.onCommitted(offsets);
      })
      .catch((error) => o.log.debug("Could not read the committed offsets of the assignment", { error }));
  });
  consumer.on(ev.STOP, () => group.left());
  consumer.on(ev.CRASH, (e) => {
    group.left();
    commitOnce = undefined; // a restarted consumer runs a new consumer group: its first batch brings its own
    const fields = { error: e.payload.error, restart: e.payload.restart };
    if (e.payload.restart) o.log.warn("Consumer restarting after an error", fields);
    else {
      o.handlers.onFatal(); // /healthz turns 503: the consumer will not come back by itself
      o.log.error("Consumer crashed", fields);
    }
  });
  const run: ConsumerRunConfig = {
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isStale, commitOffsetsIfNecessary }) => {
      commitOnce = commitOffsetsIfNecessary;
      if (rejoinPending) return; // kafkajs rejoins after this fetch; the batch is fetched again
      if (group.rejoinDue(COORDINATOR_LOST_MS, REJOIN_AGAIN_MS)) {
        const error = new CoordinatorLostError(group.silentFor());
        o.log.warn("No heartbeat reached the group coordinator: looking it up again and rejoining", {
          silent_ms: Math.round(group.silentFor()),
        });
        throw error; // the batch is not resolved: it is fetched again after the rejoin
      }
      const beat = () =>
        heartbeat().catch((e) => {
          if (isRejoinError(e)) {
            rejoinPending = true;
            group.left();
          }
          throw e;
        });
      const keepAlive = setInterval(() => beat().catch(() => {}), HEARTBEAT_INTERVAL_MS);
      try {
        const last = await o.handlers.onBatch(batch, beat, isStale);
        if (last !== undefined) resolveOffset(last);
      } finally {
        clearInterval(keepAlive);
      }
    },
  };
  const source: Source = {
    pause() {
      try {
        consumer.pause([{ topic: o.topic }]);
      } catch { /* not running */ }
    },
    get generation() {
      return generation;
    },
    async commit(offsets, taken, joinWaitMs = 0) {
      if (!await group.waitJoined(joinWaitMs)) {
        o.log.debug("Commit deferred: the group is not joined", { generation: taken });
        return [];
      }
      if (taken !== generation) return [];
      const mine = offsets.filter((x) => assignment.has(x.partition));
      // No batch handled yet in this run of the consumer: nothing of it to commit.
      if (mine.length === 0 || !commitOnce) return [];
      await commitOnce({
        topics: [{
          topic: o.topic,
          partitions: mine.map((x) => ({ partition: x.partition, offset: String(x.offset) })),
        }],
      });
      return mine;
    },
    seek(partition, offset) {
      consumer.seek({ topic: o.topic, partition, offset: String(offset) });
    },
    async disconnect() {
      group.left();
      await consumer.disconnect();
    },
  };
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: o.topic, fromBeginning: o.fromBeginning });
    await consumer.run(run);
  } catch (e) {
    await source.disconnect().catch(() => {});
    throw e;
  }
  return source;
}

/**
 * Whether this member is in a joined group, and how long since it last heard
 * from the coordinator (a heartbeat or a join). Pure but for its clock.
 */
export class GroupState {
  #joined = false;
  #lastContact = 0;
  #lastRejoin = Number.NEGATIVE_INFINITY;
  #waiters: (() => void)[] = [];

  constructor(readonly now: () => number = () => performance.now()) {}

  /** Joined a generation. */
  joined(): void {
    this.#joined = true;
    this.#lastContact = this.now();
    for (const w of this.#waiters.splice(0)) w();
  }

  /** A heartbeat succeeded. */
  heartbeat(): void {
    this.#lastContact = this.now();
  }

  /** Not in a joined group any more (a rebalance, a stop, a crash). */
  left(): void {
    this.#joined = false;
  }

  get isJoined(): boolean {
    return this.#joined;
  }

  /** While joined: ms since the last contact with the coordinator; 0 when not joined. */
  silentFor(): number {
    return this.#joined ? this.now() - this.#lastContact : 0;
  }

  /**
   * Whether to ask for a rejoin now: joined, silent for `lostMs`, and no rejoin asked for in the last
   * `againMs`. Returning true counts as asking.
   */
  rejoinDue(lostMs: number, againMs: number): boolean {
    const now = this.now();
    if (this.silentFor() < lostMs || now - this.#lastRejoin < againMs) return false;
    this.#lastRejoin = now;
    return true;
  }

  /** Resolves true once joined (at once if joined), false after `ms`. */
  waitJoined(ms: number): Promise<boolean> {
    if (this.#joined) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== done);
        resolve(false);
      }, ms);
      this.#waiters.push(done);
    });
  }
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
