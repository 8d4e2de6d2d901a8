/**
 * Scenario 8: the producer CLI. Ctrl-C (SIGINT) under load flushes every
 * record it had accepted: the topic then holds exactly the acknowledged
 * readings, each sensor's sequence dense from 0, and the exit code is 0. A
 * broker that never comes up gives a clear one-line error and a non-zero exit
 * once the configured connect timeout has passed.
 */
import assert from "node:assert/strict";
import { decodeReading, ensureTopics } from "@iot/shared";
import { freePort, ManagedProcess } from "../../dev/process.ts";
import { uniqueName, useKafka, waitFor } from "../../dev/testing.ts";
import { readTopic, summary, TEST_OPTIONS, testKafka } from "./harness.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function producerCli(args: string[], env: Record<string, string> = {}): Promise<ManagedProcess> {
  return ManagedProcess.spawn({
    name: "producer",
    cmd: Deno.execPath(),
    args: ["run", "-A", "producer/main.ts", ...args],
    cwd: ROOT,
    env: { LOG_FORMAT: "json", ...env },
  });
}

interface StatsLine {
  total: number;
  sent: number;
  errors: number;
  in_flight: number;
  final: boolean;
}

function statsLines(p: ManagedProcess): StatsLine[] {
  const out: StatsLine[] = [];
  for (const line of p.tail(200).split("\n")) {
    if (!line.startsWith("{") || !line.includes('"final"')) continue;
    try {
      out.push(JSON.parse(line));
    } catch { /* not a stats line */ }
  }
  return out;
}

Deno.test("8a. producer Ctrl-C under load: everything accepted is flushed, exit 0", TEST_OPTIONS, async () => {
  const broker = await useKafka();
  const kafka = await testKafka(broker.brokers);
  const admin = kafka.admin();
  const topic = uniqueName("rel-ctrlc");
  let p: ManagedProcess | undefined;
  try {
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: 3 }]);
    p = await producerCli([
      "--brokers",
      broker.brokers.join(","),
      "--topic",
      topic,
      "--rate",
      "20000",
      "--sensors",
      "200",
      "--seed",
      "808",
      "--json",
      "--stats-interval",
      "0.5",
    ]);
    const proc = p;
    await waitFor(() => {
      if (proc.exited) throw new Error(`producer exited early:\n${proc.tail(20)}`);
      return statsLines(proc).some((s) => s.total > 5000);
    }, { timeoutMs: 60_000, intervalMs: 100, what: "the producer to get 5000 records acknowledged" });
    proc.signal("SIGINT");
    const status = await proc.status;
    const final = statsLines(proc).find((s) => s.final);
    assert.equal(status.code, 0, `exit code after SIGINT:\n${proc.tail(20)}`);
    assert.ok(final, `a final stats line:\n${proc.tail(20)}`);

    const records = await readTopic(kafka, topic);
    const ids = new Set<string>();
    const next = new Map<string, number>();
    let invalid = 0;
    for (const r of records) {
      const d = decodeReading(r.value);
      if (!d.ok) {
        invalid++;
        continue;
      }
      ids.add(`${d.reading.sensor_id}:${d.reading.seq}`); // per-sensor sequence, not the reading id
      next.set(d.reading.sensor_id, Math.max(next.get(d.reading.sensor_id) ?? 0, (d.reading.seq ?? 0) + 1));
    }
    const gaps = [...next].filter(([sensor, n]) => {
      for (let seq = 0; seq < n; seq++) if (!ids.has(`${sensor}:${seq}`)) return true;
      return false;
    });
    summary("8a-producer-sigint", {
      records: final.total,
      faults: { sigint: 1 },
      accepted: final.sent,
      acknowledged: final.total,
      inTopic: records.length,
      distinct: ids.size,
      lost: final.sent - final.total,
      duplicated: records.length - ids.size,
      sensorsWithGaps: gaps.length,
    });
    assert.equal(invalid, 0, "every record in the topic is a valid reading");
    assert.equal(final.errors, 0, "no record failed");
    assert.equal(final.in_flight, 0, "nothing left in flight");
    assert.equal(final.sent, final.total, "everything handed to the client was acknowledged");
    assert.equal(records.length, final.total, "the topic holds exactly the acknowledged records");
    assert.equal(ids.size, records.length, "no reading twice");
    assert.deepEqual(gaps.map(([s]) => s), [], "every sensor's sequence is dense: nothing accepted was dropped");
  } finally {
    if (p && !p.exited) await p.kill();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
});

Deno.test(
  "8b. producer with a broker that never comes up: clear error, non-zero exit after the timeout",
  TEST_OPTIONS,
  async () => {
    const port = freePort();
    const timeoutS = 3;
    const started = Date.now();
    const p = await producerCli([
      "--brokers",
      `127.0.0.1:${port}`,
      "--topic",
      uniqueName("rel-nobroker"),
      "--connect-timeout",
      String(timeoutS),
    ]);
    try {
      // Generous bound (CLI start-up included): it must give up rather than hang.
      const status = await Promise.race([
        p.status,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), timeoutS * 1000 + 45_000)),
      ]);
      const elapsedMs = Date.now() - started;
      assert.ok(status, `the producer gave up:\n${p.tail(20)}`);
      const output = p.tail(50);
      summary("8b-producer-no-broker", { faults: { unreachable_broker: 1 }, exitCode: status.code, elapsedMs });
      assert.notEqual(status.code, 0, "non-zero exit");
      assert.ok(elapsedMs >= timeoutS * 1000, "it tried for the configured timeout");
      assert.match(output, new RegExp(`Cannot reach Kafka at 127\\.0\\.0\\.1:${port} within ${timeoutS} s`));
      assert.doesNotMatch(output, /^\s+at /m, "a one-line error, no stack trace");
    } finally {
      if (!p.exited) await p.kill();
    }
  },
);
