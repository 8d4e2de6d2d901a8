import assert from "node:assert/strict";
import { loadProcessorConfig } from "./config.ts";
import { resolveProcessorConfig } from "./mod.ts";

Deno.test("processor config reads the documented variables, flags override them", () => {
  const c = loadProcessorConfig({
    PROCESSOR_WINDOWS: "60, 10,10",
    PROCESSOR_ALLOWED_LATENESS_MS: "2000",
    RAW_RETENTION_DAYS: "3",
    PROCESSOR_METRICS_PORT: "9999",
    PROCESSOR_LIVE_FLUSH_MS: "250",
    PROCESSOR_FETCH_WAIT_MS: "40",
  }, { group: "g2", brokers: "h:1", metricsPort: 0 });
  assert.equal(c.liveFlushIntervalMs, 250);
  assert.equal(loadProcessorConfig({}).liveFlushIntervalMs, 100, "the documented default");
  assert.equal(loadProcessorConfig({}).flushIntervalMs, 2000, "the documented default");
  assert.equal(c.fetchWaitMs, 40);
  assert.equal(loadProcessorConfig({}).fetchWaitMs, 25, "the documented default");
  assert.deepEqual(c.windowsS, [10, 60]);
  assert.equal(c.allowedLatenessMs, 2000);
  assert.equal(c.rawRetentionDays, 3);
  assert.equal(c.groupId, "g2");
  assert.deepEqual(c.kafka.brokers, ["h:1"]);
  assert.equal(c.metricsPort, 0);
  assert.equal(loadProcessorConfig({}).groupId, "iot-processor");
});

Deno.test("bad processor settings fail with a message naming the variable", () => {
  assert.throws(() => loadProcessorConfig({ PROCESSOR_WINDOWS: "10,abc" }), /PROCESSOR_WINDOWS/);
  assert.throws(() => loadProcessorConfig({ PROCESSOR_ALLOWED_LATENESS_MS: "-1" }), /PROCESSOR_ALLOWED_LATENESS_MS/);
  assert.throws(() => loadProcessorConfig({}, { brokers: "nope" }), /KAFKA_BROKERS/);
  assert.throws(() => loadProcessorConfig({ PROCESSOR_LIVE_FLUSH_MS: "-5" }), /PROCESSOR_LIVE_FLUSH_MS/);
  assert.throws(() => loadProcessorConfig({ PROCESSOR_FETCH_WAIT_MS: "9000" }), /PROCESSOR_FETCH_WAIT_MS/);
});

Deno.test("startProcessor options override nested settings without losing defaults", () => {
  const c = resolveProcessorConfig({ mongo: { db: "x" }, detectors: { stuckReadings: 3 }, windowsS: [5] });
  assert.equal(c.mongo.db, "x");
  assert.equal(c.mongo.url, "mongodb://127.0.0.1:27017");
  assert.equal(c.detectors.stuckReadings, 3);
  assert.equal(c.detectors.zscoreWarmup, 30);
  assert.deepEqual(c.windowsS, [5]);
});
