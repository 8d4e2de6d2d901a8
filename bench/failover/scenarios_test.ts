import assert from "node:assert/strict";
import { UsageError } from "@iot/shared";
import { SCENARIOS, selectScenarios } from "./scenarios.ts";

Deno.test("SCENARIOS: 10 producer runs (the Java reference first) and 4 consumer runs", () => {
  assert.equal(SCENARIOS.length, 14);
  assert.equal(SCENARIOS[0], "producer/java/leader-sigkill", "the reference first");
  assert.equal(SCENARIOS[7], "producer/platformatic/leader-sigterm");
  assert.deepEqual(SCENARIOS.slice(8, 10), ["producer/java/controller-sigkill", "producer/native/controller-sigkill"]);
  assert.deepEqual(SCENARIOS.slice(10), [
    "consumer/kafkajs/coordinator-sigkill",
    "consumer/kafkajs/leader-sigkill",
    "consumer/platformatic/coordinator-sigkill",
    "consumer/platformatic/leader-sigkill",
  ]);
});

Deno.test("selectScenarios: all, full names, and prefixes at a / boundary, in the order given, each once", () => {
  assert.deepEqual(selectScenarios("all"), [...SCENARIOS]);
  assert.deepEqual(selectScenarios(" consumer/platformatic/leader-sigkill , producer/kafkajs"), [
    "consumer/platformatic/leader-sigkill",
    "producer/kafkajs/leader-sigkill",
    "producer/kafkajs/leader-sigterm",
  ]);
  assert.deepEqual(selectScenarios("consumer"), SCENARIOS.filter((s) => s.startsWith("consumer/")));
  assert.deepEqual(selectScenarios("producer/native,producer/native/leader-sigkill,,"), [
    "producer/native/leader-sigkill",
    "producer/native/leader-sigterm",
    "producer/native/controller-sigkill",
  ]);
});

Deno.test("selectScenarios: an unknown name, a partial word or an empty spec is a UsageError", () => {
  assert.throws(() => selectScenarios("producer/nativ"), UsageError, "a prefix only counts up to a /");
  assert.throws(() => selectScenarios("consumer/native"), /Unknown scenario "consumer\/native"; one of all/);
  assert.throws(() => selectScenarios("producer,bogus"), /Unknown scenario "bogus"/);
  assert.throws(() => selectScenarios(" , "), /--scenarios is empty/);
});
