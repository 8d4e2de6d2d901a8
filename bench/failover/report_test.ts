import assert from "node:assert/strict";
import { markdownTable, ms, perPartition } from "./report.ts";
import type { ConsumerRunResult, ProducerRunResult } from "./types.ts";

const producer: ProducerRunResult = {
  scenario: "producer/native/leader-sigkill",
  kind: "producer",
  client: "native",
  fault: "leader-sigkill",
  rate: 2000,
  seconds: 20,
  victim: 1,
  controller: 1,
  affectedPartitions: [0, 2],
  generated: 40000,
  sent: 40000,
  acked: 39990,
  failed: 10,
  unsettled: 0,
  inTopic: 39995,
  lost: 0,
  lostExamples: [],
  failedButWritten: 5,
  missing: 5,
  duplicated: 0,
  reordered: 0,
  invalid: 0,
  recoveryMs: 4250,
  stallOfOthersMs: null,
  maxGapAfterFaultMs: { 0: 4250, 1: 0, 2: 30 },
  firstAfterFaultMs: { 0: 10, 2: 12 },
  errors: 1,
  errorMessages: {},
  logWarnings: 0,
  finished: false,
  wedged: true,
  runMs: 80000,
  notes: [],
};

const consumer: ConsumerRunResult = {
  scenario: "consumer/kafkajs/leader-sigkill",
  kind: "consumer",
  client: "kafkajs",
  fault: "leader-sigkill",
  rate: 2000,
  seconds: 20,
  victim: 2,
  coordinator: 0,
  controller: 0,
  victimLedPartitions: [1],
  producerAcked: 40000,
  producerFailed: 0,
  inTopic: 40000,
  consumedDistinct: 40000,
  missing: 0,
  redelivered: 12,
  maxConsumeGapAfterFaultMs: { 0: 120, 1: 9000, 2: 80 },
  firstConsumedAfterFaultMs: { 0: 15, 1: null, 2: 1234 },
  appendGapAfterFaultMs: { 0: 50, 1: 8800, 2: 40 },
  commits: 30,
  commitErrors: 2,
  commitsDeferred: 3,
  commitErrorMessages: {},
  crashed: false,
  restarts: 1,
  logWarnings: 4,
  warningMessages: {},
  caughtUp: true,
  caughtUpAfterFaultMs: 16000,
  committed: { 0: 13000, 1: 14000, 2: 13000 },
  freshStart: { 0: 13000, 1: 14000, 2: 13000 },
  resumeExact: false,
  finished: true,
  runMs: 40000,
  notes: [],
};

Deno.test("ms and perPartition: seconds with one decimal, never for a missing value", () => {
  assert.equal(ms(1234), "1.2");
  assert.equal(ms(0), "0.0");
  assert.equal(ms(null), "never");
  assert.equal(ms(undefined), "never");
  assert.equal(perPartition({ 0: 15, 2: 1250 }), "0.0 / never / 1.3");
});

Deno.test("markdownTable: a producer table, a blank line, a consumer table", () => {
  const lines = markdownTable([consumer, producer]).split("\n");
  assert.equal(lines.length, 7);
  assert.match(lines[0], /^\| Producer run \| Generated \| Acked \|/);
  assert.equal(lines[1], "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  assert.equal(
    lines[2],
    "| producer/native/leader-sigkill (victim 1, the active controller, led 0,2) | 40000 | 39990 | 10 (5) | 0 | 39995 | 0 | 0 | 0 | 4.3 | never | 1 | **wedged** |",
  );
  assert.equal(lines[3], "");
  assert.match(lines[4], /^\| Consumer run \| In topic \| Missing \| Redelivered \|/);
  assert.equal(lines[5], "|---|---|---|---|---|---|---|---|---|---|---|");
  assert.equal(
    lines[6],
    "| consumer/kafkajs/leader-sigkill (victim 2, coordinator 0, led 1) | 40000 | 0 | 12 | 0.1 / 9.0 / 0.1 | 0.0 / never / 1.2 | 0.1 / 8.8 / 0.0 | 2 / 3 | no / 1 | yes | **no** |",
  );
});

Deno.test("markdownTable: only the tables that have runs; each header has as many columns as its rows", () => {
  const p = markdownTable([producer]).split("\n");
  assert.equal(p.length, 3);
  const c = markdownTable([consumer]).split("\n");
  assert.equal(c.length, 3, "no blank line before a lone consumer table");
  for (const table of [p, c]) {
    const columns = (l: string) => l.split("|").length;
    assert.equal(columns(table[0]), columns(table[2]));
    assert.equal(columns(table[1]), columns(table[2]));
  }
  assert.equal(markdownTable([]), "");
});
