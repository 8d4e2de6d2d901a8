/**
 * The reference producer run of the failover matrix: Kafka's own Java client, through `VerifiableProducer` from the
 * cached kafka-tools jar, with the Java client's defaults (idempotent, acks=all, retries bounded by
 * `delivery.timeout.ms`, 120 s; the tool itself would set `retries=0`, which its config file overrides). It sends
 * the integers from 0 under `sensors` repeating keys at `rate` and prints a JSON line per acknowledged or failed
 * record; the topic is read back and checked by value (each once, in order per key). Same fault and figures as the
 * other producer runs, so the stall a broker imposes can be told from the stall a client adds.
 */
import { ensureJars } from "../../dev/jars.ts";
import { appendGaps, inLogOrder } from "../../tests/cluster/helpers.ts";
import { readTopic, testKafka } from "../../tests/reliability/harness.ts";
import {
  bounded,
  countMessage,
  deleteTopic,
  poll,
  settleWithin,
  sleep,
  TIMED_OUT,
  victimTopic,
  worstGap,
} from "./common.ts";
import type { ProducerFault, ProducerRunResult, RunOptions } from "./types.ts";

/** The Java client's settings for the run: its defaults, which the tool's own `retries=0` would change. */
const JAVA_PRODUCER_CONFIG = "retries=2147483647\nenable.idempotence=true\nacks=all\n";

/** What the tool prints per record. */
interface ToolEvent {
  name: string;
  key?: string;
  value?: string;
  exception?: string;
  message?: string;
}

/** One run of the Java producer: partition 0's leader fails `faultAfterMs` after the first acknowledgement. */
export async function javaProducerRun(
  { cluster, fault, matrix: o }: Omit<RunOptions<"java", ProducerFault>, "seed">,
): Promise<ProducerRunResult> {
  const scenario = `producer/java/${fault}`;
  const notes: string[] = [];
  const kafka = await testKafka(cluster.brokerList);
  const { topic, victim, controller, affected } = await victimTopic(cluster, kafka, "fc-p-java", fault);
  const total = Math.round(o.rate * o.seconds);
  const libs = await ensureJars("kafka");
  const config = await Deno.makeTempFile({ prefix: "failover-java-", suffix: ".properties" });
  await Deno.writeTextFile(config, JAVA_PRODUCER_CONFIG);
  const acked = new Set<string>();
  const failed = new Set<string>();
  const errorMessages: Record<string, number> = {};
  let warnings = 0;
  let firstAckAt = 0;
  let faultAt = 0;
  const start = Date.now();
  const child = new Deno.Command("java", {
    args: [
      "-Xmx256m",
      `-Dlog4j2.configurationFile=${libs}/../log4j2-tools.properties`,
      "-cp",
      `${libs}/*`,
      "org.apache.kafka.tools.VerifiableProducer",
      ...["--bootstrap-server", cluster.brokers, "--topic", topic, "--max-messages", String(total)],
      ...["--throughput", String(o.rate), "--repeating-keys", String(o.sensors), "--producer.config", config],
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const events = (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.startsWith("{")) continue;
        const e = JSON.parse(line) as ToolEvent;
        if (e.name === "producer_send_success") {
          acked.add(String(e.value));
          firstAckAt ||= Date.now();
        } else if (e.name === "producer_send_error") {
          failed.add(String(e.value));
          countMessage(errorMessages, e.exception ?? e.message ?? "failed");
        }
      }
    }
  })();
  const stderr = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      warnings += chunk.split("\n").filter((l) => /^(WARN|ERROR)/.test(l)).length;
    }
  })();
  let finished = false;
  let runMs = 0;
  try {
    if (!await poll(() => firstAckAt > 0, 30_000, 50)) notes.push("no acknowledgement within 30 s of the start");
    await sleep(o.faultAfterMs);
    faultAt = Date.now();
    await cluster.node(victim).kill(fault === "leader-sigterm" ? "SIGTERM" : "SIGKILL");
    await sleep(Math.max(0, faultAt + o.restartAfterMs - Date.now()));
    await bounded(cluster.restart(victim), 90_000, "restart of the victim").catch((e) => notes.push(e.message));
    // The bound: the tool sent everything and exited within `boundMs` of the last record's scheduled time.
    const left = start + o.seconds * 1000 + o.boundMs - Date.now();
    finished = await settleWithin(child.status, Math.max(0, left)) !== TIMED_OUT;
    runMs = Date.now() - start;
  } finally {
    if (!finished) {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
    }
    await child.status;
    await Promise.all([events, stderr]);
    await Deno.remove(config).catch(() => {});
    if (!cluster.node(victim).running) await bounded(cluster.restart(victim), 90_000, "restart").catch(() => {});
  }
  await cluster.waitInSync([topic], 90_000).catch((e) => notes.push((e as Error).message));
  const records = await readTopic(kafka, topic, 60_000);
  const seen = new Map<string, number>();
  let reordered = 0;
  let invalid = 0;
  const decoder = new TextDecoder();
  for (const list of inLogOrder(records).values()) {
    const last = new Map<string, number>();
    for (const r of list) {
      const value = r.value === null ? "" : decoder.decode(r.value);
      if (!/^\d+$/.test(value)) {
        invalid++;
        continue;
      }
      seen.set(value, (seen.get(value) ?? 0) + 1);
      if (Number(value) <= (last.get(r.key ?? "") ?? -1)) reordered++;
      last.set(r.key ?? "", Number(value));
    }
  }
  const gaps = appendGaps(records, faultAt);
  const lost = [...acked].filter((v) => !seen.has(v));
  let missing = 0;
  for (let v = 0; v < total; v++) if (!seen.has(String(v))) missing++;
  await deleteTopic(kafka, topic);
  return {
    scenario,
    kind: "producer",
    client: "java",
    fault,
    rate: o.rate,
    seconds: o.seconds,
    victim,
    controller,
    affectedPartitions: affected,
    generated: total,
    sent: acked.size + failed.size,
    acked: acked.size,
    failed: failed.size,
    unsettled: total - acked.size - failed.size,
    inTopic: records.length,
    lost: lost.length,
    lostExamples: lost.slice(0, 5),
    failedButWritten: [...failed].filter((v) => seen.has(v)).length,
    missing,
    duplicated: [...seen.values()].reduce((n, count) => n + count - 1, 0),
    reordered,
    invalid,
    recoveryMs: worstGap(gaps, affected),
    stallOfOthersMs: worstGap(gaps, [0, 1, 2].filter((p) => !affected.includes(p))),
    ...gaps,
    errors: failed.size,
    errorMessages,
    logWarnings: warnings,
    finished,
    wedged: !finished,
    runMs,
    notes: [...new Set(notes)],
  };
}
