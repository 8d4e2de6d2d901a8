import assert from "node:assert/strict";
import Runner from "kafkajs/src/consumer/runner.js";
import ConsumerGroup from "kafkajs/src/consumer/consumerGroup.js";
import {
  ConsumerStoppedError,
  fixFetchFromUnreachableLeader,
  fixFetchOnStoppedRunner,
  fixHeartbeatOnLostCoordinator,
  isConnectionError,
} from "./kafkajs_fix.ts";

Deno.test("a fetch of a stopped runner throws instead of returning at once (kafkajs's busy loop)", async () => {
  const calls: number[] = [];
  class FakeRunner {
    running = true;
    fetch(nodeId: number): Promise<unknown[]> {
      calls.push(nodeId);
      return Promise.resolve([]);
    }
  }
  fixFetchOnStoppedRunner(FakeRunner.prototype);
  fixFetchOnStoppedRunner(FakeRunner.prototype); // idempotent
  const r = new FakeRunner();
  assert.deepEqual(await r.fetch(1), []);
  r.running = false;
  await assert.rejects(r.fetch(2), ConsumerStoppedError);
  assert.deepEqual(calls, [1], "the original fetch runs only while running, once per call");
});

Deno.test("the fix is applied to kafkajs's own Runner once the consumer source is loaded", async () => {
  await import("./consumer.ts");
  const proto = (Runner as unknown as { prototype: { fetch(n: number): Promise<unknown[]> } }).prototype;
  await assert.rejects(proto.fetch.call({ running: false } as never, 0), ConsumerStoppedError);
  assert.equal(new ConsumerStoppedError().retriable, true, "kafkajs's runner retries it, finds itself stopped, ends");
});

/** A kafkajs-like error: kafkajs classifies by `name` and `type`. */
function kafkaError(name: string, type?: string): Error {
  return Object.assign(new Error(`${name} ${type ?? ""}`), { name, type });
}

Deno.test("a heartbeat failing on the connection is logged and not thrown; the next waits an interval", async () => {
  const outcomes: (Error | undefined)[] = [];
  const warnings: string[] = [];
  class FakeRunner {
    consumerGroup = { lastRequest: 0 };
    logger = { warn: (m: string) => void warnings.push(m) };
    heartbeat(): Promise<void> {
      const e = outcomes.shift();
      return e ? Promise.reject(e) : Promise.resolve();
    }
  }
  fixHeartbeatOnLostCoordinator(FakeRunner.prototype, () => 5000);
  fixHeartbeatOnLostCoordinator(FakeRunner.prototype, () => 9999); // idempotent: the first clock stays
  const r = new FakeRunner();
  outcomes.push(kafkaError("KafkaJSConnectionError"));
  await r.heartbeat();
  assert.equal(r.consumerGroup.lastRequest, 5000, "the next heartbeat is an interval after the failed one");
  assert.equal(warnings.length, 1);
  outcomes.push(kafkaError("KafkaJSRequestTimeoutError"), kafkaError("KafkaJSConnectionClosedError"));
  await r.heartbeat();
  await r.heartbeat();
  assert.equal(warnings.length, 3);
  // Answers of the coordinator still reach kafkajs's runner, which rejoins on them.
  for (const type of ["REBALANCE_IN_PROGRESS", "NOT_COORDINATOR_FOR_GROUP", "UNKNOWN_MEMBER_ID"]) {
    r.consumerGroup.lastRequest = 0;
    outcomes.push(kafkaError("KafkaJSProtocolError", type));
    await assert.rejects(r.heartbeat(), (e: Error & { type?: string }) => e.type === type);
    assert.equal(r.consumerGroup.lastRequest, 0, "a protocol answer does not move the next heartbeat");
  }
  await r.heartbeat(); // a success passes through
  assert.equal(warnings.length, 3);
});

Deno.test("connection errors are told from protocol answers", () => {
  assert.equal(isConnectionError(kafkaError("KafkaJSConnectionError")), true);
  assert.equal(isConnectionError(kafkaError("KafkaJSProtocolError", "NOT_COORDINATOR_FOR_GROUP")), false);
  assert.equal(isConnectionError(new Error("x")), false);
  assert.equal(isConnectionError(undefined), false);
});

Deno.test("the heartbeat fix is applied to kafkajs's own Runner once the consumer source is loaded", async () => {
  await import("./consumer.ts");
  const proto = (Runner as unknown as { prototype: { heartbeat(): Promise<void> } }).prototype;
  const group = {
    lastRequest: 0,
    heartbeat: () => Promise.reject(kafkaError("KafkaJSConnectionError")),
  };
  const runner = { consumerGroup: group, heartbeatInterval: 3000 };
  await proto.heartbeat.call(runner as never);
  assert.ok(group.lastRequest > 0, "kafkajs's own heartbeat, failing on the connection, was swallowed");
});

Deno.test("a fetch from an unreachable leader waits, re-reads the metadata and returns; other errors go to kafkajs", async () => {
  const events: string[] = [];
  let metadataFails = false;
  class FakeGroup {
    cluster = {
      refreshMetadata: () => {
        events.push("metadata");
        return metadataFails ? Promise.reject(kafkaError("KafkaJSConnectionError")) : Promise.resolve();
      },
    };
    logger = { warn: () => void events.push("warn") };
    recoverFromFetch(e: unknown): Promise<void> {
      events.push(`kafkajs ${(e as Error).name}`);
      return Promise.resolve();
    }
  }
  const waits: number[] = [];
  const wait = (ms: number) => {
    waits.push(ms);
    events.push("wait");
    return Promise.resolve();
  };
  fixFetchFromUnreachableLeader(FakeGroup.prototype, wait);
  fixFetchFromUnreachableLeader(FakeGroup.prototype, wait); // idempotent
  const g = new FakeGroup();
  const refused = Object.assign(kafkaError("KafkaJSConnectionError"), { broker: "127.0.0.1:1" });
  await g.recoverFromFetch(refused);
  await g.recoverFromFetch(refused);
  assert.deepEqual(events, ["warn", "wait", "metadata", "wait", "metadata"], "warned once per broker, not per fetch");
  assert.ok(waits.every((ms) => ms > 0), "never a busy loop against a dead broker");
  events.length = 0;
  await g.recoverFromFetch(kafkaError("KafkaJSConnectionClosedError"));
  await g.recoverFromFetch(kafkaError("KafkaJSOffsetOutOfRange"));
  assert.deepEqual(events, ["kafkajs KafkaJSConnectionClosedError", "kafkajs KafkaJSOffsetOutOfRange"]);
  // No broker answers the metadata request: the error reaches the fetch manager as before.
  metadataFails = true;
  await assert.rejects(g.recoverFromFetch(refused), (e: Error) => e.name === "KafkaJSConnectionError");
});

Deno.test("the fetch fix is applied to kafkajs's own ConsumerGroup once the consumer source is loaded", async () => {
  await import("./consumer.ts");
  const proto = (ConsumerGroup as unknown as { prototype: { recoverFromFetch(e: unknown): Promise<void> } }).prototype;
  let refreshed = 0;
  const group = { cluster: { refreshMetadata: () => Promise.resolve(void refreshed++) } };
  await proto.recoverFromFetch.call(group as never, kafkaError("KafkaJSConnectionError"));
  assert.equal(refreshed, 1, "kafkajs's own consumer group recovered from the refused fetch");
});
