/**
 * A fix, applied at load, for a busy loop in kafkajs 2.2.4's consumer.
 *
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
 * @module
 */
// The module kafkajs's consumer itself loads (CommonJS, one instance).
import Runner from "kafkajs/src/consumer/runner.js";

/** A fetch was asked of a stopped consumer (ends kafkajs's fetch loop; retriable, so nothing crashes). */
export class ConsumerStoppedError extends Error {
  override name = "ConsumerStoppedError";
  readonly retriable = true;
  constructor() {
    super("The consumer is stopped: no more fetches");
  }
}

interface RunnerLike {
  running: boolean;
  fetch(nodeId: number): Promise<unknown[]>;
}

const FIXED = Symbol.for("iot.kafkajs.fetchOnStoppedRunner");

/** Makes `Runner#fetch` of `proto` throw `ConsumerStoppedError` once the runner stopped (idempotent). */
export function fixFetchOnStoppedRunner(proto: RunnerLike): void {
  const marked = proto as RunnerLike & { [FIXED]?: true };
  if (marked[FIXED]) return;
  const fetch = proto.fetch;
  proto.fetch = function (this: RunnerLike, nodeId: number): Promise<unknown[]> {
    if (!this.running) return Promise.reject(new ConsumerStoppedError());
    return fetch.call(this, nodeId);
  };
  marked[FIXED] = true;
}

fixFetchOnStoppedRunner((Runner as unknown as { prototype: RunnerLike }).prototype);
