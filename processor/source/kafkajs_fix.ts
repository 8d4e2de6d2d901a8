/**
 * Fixes, applied at load, of kafkajs 2.2.4's consumer.
 *
 * **A busy loop at stop.**
 * When `consumer.disconnect()` stops the runner while its fetch manager is
 * rebuilding its fetchers (the brokers in the metadata changed: a broker
 * left or came back), the rebuilt fetchers start after the runner stopped.
 * Each of them loops on `Runner#fetch`, which then returns `[]` at once
 * without any I/O, so the loop never yields to timers or sockets: the process
 * spins at 100 % of a core, `disconnect()` never returns (it waits for the
 * fetchers), and the member is only dropped when its session expires. Seen
 * in the cluster failover tests (the leader-SIGTERM run "did not finish";
 * the inspector showed the isolate inside `fetcher.js` `start`).
 *
 * The fix: a fetch on a stopped runner throws instead. The fetcher ends, the
 * fetch manager stops the others and rethrows, and the runner's retry finds
 * it stopped and ends consuming, so `disconnect()` goes on (leave, close).
 *
 * **A lost coordinator stalls every partition.** The runner heartbeats after
 * each batch; when the group coordinator's node is gone, the heartbeat fails
 * with a connection error, which aborts the fetch round, and the retry
 * backoff (up to 1 s) then comes after every batch: partitions whose leaders
 * are alive are read at one batch per backoff until the group is rejoined.
 * (A failed heartbeat does not move kafkajs's `lastRequest`, so every batch
 * tries again and fails again.) Found in the runner's code while measuring
 * coordinator SIGKILLs; alone it did not shorten the stall measured there
 * (2.7-3.1 s in 3 runs against the broker's 1.4-1.8 s): the fetch fix below
 * did.
 *
 * The fix: a heartbeat that fails on the connection (refused, closed, timed
 * out) is logged and not thrown, and the next one waits a heartbeat interval.
 * Fetching goes on from the partitions' leaders; protocol answers (rebalance,
 * unknown member, another coordinator) are thrown as before. The source
 * rejoins once no heartbeat succeeded for `COORDINATOR_LOST_MS`
 * (`consumer.ts`), which finds the new coordinator.
 *
 * **One unreachable leader stops the fetches from every broker.** The fetch
 * manager runs one fetcher per broker; a fetch whose connection is refused
 * (the leader's node just died, and the metadata still names it until the
 * controller fences it) is not among the errors the consumer group recovers
 * from, so it stops every fetcher, drops the answers the live brokers had
 * just sent, and the runner retries after its backoff (which grows to 1 s).
 * Seen in the cluster failover tests: partitions whose leaders were alive
 * were stored again only 1.3 s after the broker took appends again.
 *
 * The fix: such a fetch waits `UNREACHABLE_LEADER_RETRY_MS`, re-reads the
 * metadata (from any live broker) and returns no batches, so that fetcher
 * tries again alone while the others go on; once the metadata no longer
 * names the dead node, the fetch manager rebuilds its fetchers as it does on
 * any broker change. When no broker answers the metadata request, its error
 * is thrown as before (a whole-cluster outage takes the runner's retries).
 * @module
 */
// The module kafkajs's consumer itself loads (CommonJS, one instance).
import Runner from "kafkajs/src/consumer/runner.js";
import ConsumerGroup from "kafkajs/src/consumer/consumerGroup.js";

/** A fetch was asked of a stopped consumer (ends kafkajs's fetch loop; retriable, so nothing crashes). */
export class ConsumerStoppedError extends Error {
  override name = "ConsumerStoppedError";
  readonly retriable = true;
  constructor() {
    super("The consumer is stopped: no more fetches");
  }
}

/** Replaces `proto[method]` by `wrap(original)` once per prototype and fix: the same `fix` again does nothing. */
function patchOnce<P extends object, K extends keyof P>(
  proto: P,
  fix: symbol,
  method: K,
  wrap: (original: P[K]) => P[K],
): void {
  const marked = proto as unknown as Record<symbol, true | undefined>;
  if (marked[fix]) return;
  proto[method] = wrap(proto[method]);
  marked[fix] = true;
}

interface RunnerLike {
  running: boolean;
  fetch(nodeId: number): Promise<unknown[]>;
}

const FIXED = Symbol.for("iot.kafkajs.fetchOnStoppedRunner");

/** Makes `Runner#fetch` of `proto` throw `ConsumerStoppedError` once the runner stopped (idempotent). */
export function fixFetchOnStoppedRunner(proto: RunnerLike): void {
  patchOnce(proto, FIXED, "fetch", (fetch) =>
    function (this: RunnerLike, nodeId: number): Promise<unknown[]> {
      if (!this.running) return Promise.reject(new ConsumerStoppedError());
      return fetch.call(this, nodeId);
    });
}

fixFetchOnStoppedRunner((Runner as unknown as { prototype: RunnerLike }).prototype);

/** Failures of the connection rather than answers of the coordinator: refused, closed, or no answer in time. */
const CONNECTION_ERRORS = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
]);

/** Whether an error is a connection-level failure of a request (not a protocol answer). */
export function isConnectionError(e: unknown): boolean {
  return CONNECTION_ERRORS.has(String((e as { name?: unknown })?.name));
}

interface HeartbeatRunnerLike {
  consumerGroup: { lastRequest: number };
  logger?: { warn(message: string, extra?: Record<string, unknown>): void };
  heartbeat(): Promise<void>;
}

const HEARTBEAT_FIXED = Symbol.for("iot.kafkajs.heartbeatOnLostCoordinator");

/**
 * Makes `Runner#heartbeat` of `proto` log and swallow a connection-level failure, and put the next attempt a
 * heartbeat interval later (kafkajs heartbeats once `lastRequest` is an interval old). Idempotent.
 */
export function fixHeartbeatOnLostCoordinator(proto: HeartbeatRunnerLike, now: () => number = Date.now): void {
  patchOnce(
    proto,
    HEARTBEAT_FIXED,
    "heartbeat",
    (heartbeat) =>
      async function (this: HeartbeatRunnerLike): Promise<void> {
        try {
          await heartbeat.call(this);
        } catch (e) {
          if (!isConnectionError(e)) throw e;
          this.consumerGroup.lastRequest = now();
          this.logger?.warn("Heartbeat failed on the connection to the group coordinator: fetching goes on", {
            error: (e as Error).message,
          });
        }
      },
  );
}

fixHeartbeatOnLostCoordinator((Runner as unknown as { prototype: HeartbeatRunnerLike }).prototype);

/** A fetch from an unreachable leader waits this long before the metadata is re-read and that fetcher goes on. */
export const UNREACHABLE_LEADER_RETRY_MS = 200;

interface ConsumerGroupLike {
  cluster: { refreshMetadata(): Promise<void> };
  logger?: { warn(message: string, extra?: Record<string, unknown>): void };
  recoverFromFetch(e: unknown): Promise<void>;
}

const FETCH_RECOVERY_FIXED = Symbol.for("iot.kafkajs.fetchFromUnreachableLeader");
/** Per consumer group: when each unreachable broker was last warned about (at most every `UNREACHABLE_WARN_EVERY_MS`). */
const WARNED = Symbol("unreachableWarned");
const UNREACHABLE_WARN_EVERY_MS = 10_000;

/**
 * Makes `ConsumerGroup#recoverFromFetch` of `proto` recover from a refused connection to one broker (wait, re-read the
 * metadata, return) instead of throwing, which stops every broker's fetcher. Other errors go to kafkajs's own. The
 * wait is injected for tests. Idempotent.
 */
export function fixFetchFromUnreachableLeader(
  proto: ConsumerGroupLike,
  wait: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): void {
  patchOnce(
    proto,
    FETCH_RECOVERY_FIXED,
    "recoverFromFetch",
    (recover) =>
      async function (this: ConsumerGroupLike, e: unknown): Promise<void> {
        // Exactly the refused or failed connect: a connection closed mid-request has its own recovery in kafkajs.
        if ((e as { name?: unknown })?.name !== "KafkaJSConnectionError") return await recover.call(this, e);
        const broker = String((e as { broker?: unknown }).broker);
        const warned = (this as ConsumerGroupLike & { [WARNED]?: Map<string, number> })[WARNED] ??= new Map();
        const now = Date.now();
        if (now - (warned.get(broker) ?? Number.NEGATIVE_INFINITY) >= UNREACHABLE_WARN_EVERY_MS) {
          warned.set(broker, now);
          this.logger?.warn(
            "A partition leader is unreachable: re-reading the metadata; the other brokers' fetches go on",
            {
              broker,
              error: (e as Error).message,
            },
          );
        }
        await wait(UNREACHABLE_LEADER_RETRY_MS);
        await this.cluster.refreshMetadata(); // throws when no broker answers: the runner's retries take over
      },
  );
}

fixFetchFromUnreachableLeader((ConsumerGroup as unknown as { prototype: ConsumerGroupLike }).prototype);
