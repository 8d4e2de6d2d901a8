import assert from "node:assert/strict";
import Runner from "kafkajs/src/consumer/runner.js";
import { ConsumerStoppedError, fixFetchOnStoppedRunner } from "./kafkajs_fix.ts";

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
