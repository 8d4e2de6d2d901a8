import assert from "node:assert/strict";
import { KafkaConnectionError, protocolError } from "./errors.ts";
import { decideRetry, type RetryState } from "./retry_policy.ts";

const base: RetryState = { attempts: 1, elapsedMs: 0, deliveryTimeoutMs: 120_000, closing: false, random: () => 0 };

Deno.test("retries back off exponentially up to 1 s, with jitter downwards", () => {
  const e = protocolError(7, "Produce");
  const delays = [1, 2, 3, 4, 5, 9].map((attempts) => decideRetry(e, { ...base, attempts }));
  assert.deepEqual(delays.map((d) => d.retry && d.delayMs), [100, 200, 400, 800, 1000, 1000]);
  const jittered = decideRetry(e, { ...base, attempts: 9, random: () => 1 });
  assert.equal(jittered.retry && jittered.delayMs, 800);
});

Deno.test("the delivery timeout bounds a batch in time, not in attempts", () => {
  const e = new KafkaConnectionError("gone");
  assert.equal(decideRetry(e, { ...base, attempts: 500, elapsedMs: 100_000 }).retry, true);
  assert.deepEqual(decideRetry(e, { ...base, attempts: 3, elapsedMs: 119_800 }), { retry: false, reason: "timeout" });
  assert.deepEqual(decideRetry(e, { ...base, attempts: 3, retries: 2 }), { retry: false, reason: "retries" });
  assert.equal(decideRetry(e, { ...base, attempts: 2, retries: 2 }).retry, true);
  assert.deepEqual(decideRetry(e, { ...base, closing: true }), { retry: false, reason: "closing" });
});

Deno.test("leadership and connection errors refresh the metadata; others do not", () => {
  const refresh = (e: Error) => {
    const d = decideRetry(e, base);
    return d.retry && d.refreshMetadata;
  };
  assert.equal(refresh(protocolError(6, "Produce")), true);
  assert.equal(refresh(new KafkaConnectionError("gone")), true);
  assert.equal(refresh(protocolError(19, "Produce")), false);
});
