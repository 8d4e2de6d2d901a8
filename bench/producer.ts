/**
 * `benchProducer`: messages per second of our producer at `--rate 0`
 * (acks=all, idempotent, realistic readings) next to Kafka's own Java
 * `ProducerPerformance` on the same broker with the same record size and
 * acks=all (idempotent by default in the Java client), median of N runs each,
 * interleaved. Also one run each of the other choices (kafkajs client,
 * acks=1 without idempotence, gzip) to show what each costs.
 *
 * Standalone: `deno run -A bench/producer.ts [--messages N] [--runs N] [--no-variants]`.
 */
import { createKafka, createLogger, ensureTopics, parseFlags, runMain } from "@iot/shared";
import { FleetGenerator, type ProducerOptions, runProducer } from "@iot/producer";
import { ensureJars, VERSIONS } from "../dev/jars.ts";
import { LocalKafka } from "../dev/kafka.ts";
import { type BenchResult, median, result, round } from "./result.ts";

/** Options of `benchProducer`. */
export interface BenchProducerOptions {
  /** Records per run (default 500 000). */
  messages?: number;
  /** Measured runs of ours and of the baseline (default 3). */
  runs?: number;
  /** Also measure the kafkajs client, acks=1 and gzip, one run each (default true). */
  variants?: boolean;
  /** Existing broker (default: a local one started for the benchmark). */
  brokers?: string[];
  partitions?: number;
  sensors?: number;
  log?: (line: string) => void;
}

const TARGET_RATE = 100_000;
const TARGET_RATIO = 0.3;

/** Average JSON size in bytes of the fleet's readings (what `--record-size` of the baseline is set to). */
export function averageRecordSize(sensors = 1000, samples = 20_000): number {
  const gen = new FleetGenerator({ sensors, seed: 1 });
  const enc = new TextEncoder();
  let bytes = 0;
  for (let i = 0; i < samples; i++) {
    const v = gen.next(Date.now()).value;
    bytes += typeof v === "string" ? enc.encode(v).length : v.length;
  }
  return Math.round(bytes / samples);
}

/** Runs Kafka's ProducerPerformance once; returns records per second. */
async function producerPerformance(
  libs: string,
  brokers: string,
  topic: string,
  records: number,
  recordSize: number,
): Promise<number> {
  const out = await new Deno.Command("java", {
    args: [
      "-Xmx512m",
      "-cp",
      `${libs}/*`,
      "org.apache.kafka.tools.ProducerPerformance",
      "--topic",
      topic,
      "--num-records",
      String(records),
      "--record-size",
      String(recordSize),
      "--throughput",
      "-1",
      "--producer-props",
      `bootstrap.servers=${brokers}`,
      "acks=all",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  // Last summary line: "500000 records sent, 123456.7 records/sec (29.43 MB/sec), …"
  const lines = text.trim().split("\n").filter((l) => / records sent, [\d.]+ records\/sec/.test(l));
  const m = / records sent, ([\d.]+) records\/sec/.exec(lines.at(-1) ?? "");
  if (!out.success || !m) {
    throw new Error(
      `ProducerPerformance failed: ${text.slice(-500)} ${new TextDecoder().decode(out.stderr).slice(-500)}`,
    );
  }
  return Number(m[1]);
}

/** Measures our producer against ProducerPerformance; see the module comment. */
export async function benchProducer(options: BenchProducerOptions = {}): Promise<BenchResult[]> {
  const messages = options.messages ?? 500_000;
  const runs = options.runs ?? 3;
  const partitions = options.partitions ?? 3;
  const sensors = options.sensors ?? 1000;
  const log = options.log ?? ((l: string) => console.error(l));
  const quiet = createLogger({ name: "bench", level: "error" });
  let local: LocalKafka | undefined;
  if (!options.brokers) {
    local = new LocalKafka({ heap: "1g" });
    await local.start();
  }
  const brokers = options.brokers ?? [local!.brokers];
  const kafka = await createKafka({ brokers, clientId: "bench" }, { role: "bench", logger: quiet });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const libs = await ensureJars("kafka");
    const recordSize = averageRecordSize(sensors);
    log(`bench producer: ${messages} records of ~${recordSize} B, ${partitions} partitions, ${runs} runs each`);
    let n = 0;
    const topic = async (prefix: string) => {
      const name = `bench-${prefix}-${Date.now().toString(36)}-${n++}`;
      await ensureTopics(admin, [{ topic: name, numPartitions: partitions }]);
      return name;
    };
    const ours = async (extra: Partial<ProducerOptions> = {}, count = messages) => {
      const t = await topic("producer");
      const r = await runProducer({
        brokers,
        topic: t,
        rate: 0,
        count,
        sensors,
        seed: 1,
        statsIntervalS: 0,
        logger: quiet,
        ...extra,
      });
      await admin.deleteTopics({ topics: [t] }).catch(() => {});
      if (r.failed > 0) throw new Error(`Our producer failed ${r.failed} records`);
      return r.stats.rate_avg;
    };
    const oursRuns: number[] = [];
    const baselineRuns: number[] = [];
    for (let i = 0; i < runs; i++) {
      oursRuns.push(round(await ours()));
      const t = await topic("perf");
      baselineRuns.push(round(await producerPerformance(libs, brokers.join(","), t, messages, recordSize)));
      await admin.deleteTopics({ topics: [t] }).catch(() => {});
      log(`  run ${i + 1}: ours ${oursRuns.at(-1)} msg/s, ProducerPerformance ${baselineRuns.at(-1)} msg/s`);
    }
    const client = `Java client ${VERSIONS.kafka}`;
    const baseline = `Kafka ProducerPerformance (${client}, acks=all, idempotent, ${recordSize} B records)`;
    const main = await result({
      name: "producer throughput at --rate 0 (acks=all, idempotent, native client)",
      unit: "msg/s",
      baseline,
      runs: oursRuns,
      baseline_runs: baselineRuns,
      notes: `${messages} realistic readings, ${sensors} sensors, ${partitions} partitions, batch 2000, 4 in flight`,
      target: `≥ ${TARGET_RATE / 1000}k msg/s and ≥ ${TARGET_RATIO}× baseline`,
    });
    main.met = main.value >= TARGET_RATE && main.ratio >= TARGET_RATIO;
    const results = [main];
    if (options.variants ?? true) {
      const count = Math.min(messages, 300_000);
      const variants: [string, Partial<ProducerOptions>][] = [
        ["kafkajs client (acks=all, idempotent)", { client: "kafkajs" }],
        ["native client, acks=1, not idempotent", { acks: "1", idempotent: false }],
        ["native client, gzip (acks=all, idempotent)", { compression: "gzip" }],
      ];
      const baselineValue = median(baselineRuns);
      for (const [name, extra] of variants) {
        const value = round(await ours(extra, count));
        log(`  ${name}: ${value} msg/s`);
        results.push({
          ...(await result({
            name: `producer throughput at --rate 0, ${name}`,
            unit: "msg/s",
            baseline,
            runs: [value],
          })),
          baseline_value: baselineValue,
          ratio: round(value / baselineValue, 3),
          notes: `${count} records, one run; ratio against the median baseline above`,
        });
      }
    }
    return results;
  } finally {
    await admin.disconnect().catch(() => {});
    await local?.dispose();
  }
}

if (import.meta.main) {
  runMain(async () => {
    const f = parseFlags(Deno.args, {
      messages: { type: "number", default: 500_000, min: 1000, integer: true, help: "Records per run" },
      runs: { type: "number", default: 3, min: 1, max: 10, integer: true, help: "Runs of each" },
      variants: { type: "boolean", default: true, help: "Also measure kafkajs, acks=1 and gzip" },
      brokers: { type: "string", help: "Existing broker (default: start one)" },
    });
    const results = await benchProducer({
      messages: f.messages,
      runs: f.runs,
      variants: f.variants,
      brokers: f.brokers?.split(","),
    });
    for (const r of results) console.log(JSON.stringify(r));
  });
}
