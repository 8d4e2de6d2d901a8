/**
 * `benchConsumer`: how fast the processor reads and validates readings in
 * consume-only mode (no MongoDB), next to Kafka's own `ConsumerPerformance`
 * reading the same backlog — the cost of kafkajs + JSON decoding + schema
 * validation against a bare Java consumer. Both are timed from their first
 * fetched record (group join excluded), median of N runs, fresh groups.
 *
 * Standalone: `deno run -A bench/consumer.ts [--messages N] [--runs N]`.
 */
import { createLogger, parseFlags, runMain } from "@iot/shared";
import { runProducer } from "@iot/producer";
import { startProcessor } from "../processor/mod.ts";
import { LocalKafka } from "../dev/kafka.ts";
import { parseConsumerPerf, runKafkaTool } from "./kafka_tools.ts";
import { type BenchResult, result } from "./result.ts";

/** Options of `benchConsumer`. */
export interface BenchConsumerOptions {
  /** Readings in the backlog (default 500 000). */
  messages?: number;
  /** Measured runs of each (default 3). */
  runs?: number;
  brokers?: string[];
  partitions?: number;
  log?: (line: string) => void;
}

/** Fills a fresh topic with `count` fleet readings (as fast as possible) and returns its name. */
export async function fillTopic(brokers: string[], count: number, partitions: number): Promise<string> {
  const topic = `bench-backlog-${Date.now().toString(36)}`;
  const r = await runProducer({
    brokers,
    topic,
    partitions,
    rate: 0,
    count,
    sensors: 1000,
    seed: 7,
    statsIntervalS: 0,
    logger: createLogger({ name: "bench.fill", level: "warn" }),
  });
  if (r.acknowledged !== count) throw new Error(`Backlog incomplete: ${r.acknowledged} of ${count} acknowledged`);
  return topic;
}

async function oursOnce(brokers: string[], topic: string, partitions: number, count: number, run: number) {
  const handle = await startProcessor({
    kafka: { brokers, clientId: "bench" },
    mongo: { url: "mongodb://127.0.0.1:1", db: "unused" },
    topics: { readings: topic, deadLetters: `${topic}.dlq`, alerts: `${topic}-alerts` },
    partitions,
    groupId: `${topic}-consume-only-${run}`,
    instance: `bench-consumer-${run}`,
    metricsPort: 0,
    consumeOnly: true,
    logger: createLogger({ name: "bench", level: "warn" }),
  });
  try {
    let first = 0;
    let firstCount = 0;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const n = handle.stats().consumed;
      if (n > 0 && first === 0) {
        first = performance.now();
        firstCount = n;
      }
      if (n >= count) return ((n - firstCount) * 1000) / (performance.now() - first);
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`Consume-only run read ${handle.stats().consumed} of ${count} in 120 s`);
  } finally {
    await handle.stop();
  }
}

/** Measures consume-only throughput of the processor against ConsumerPerformance. */
export async function benchConsumer(options: BenchConsumerOptions = {}): Promise<BenchResult[]> {
  const log = options.log ?? ((l: string) => console.error(l));
  const messages = options.messages ?? 500_000;
  const runs = options.runs ?? 3;
  const partitions = options.partitions ?? 3;
  let local: LocalKafka | undefined;
  try {
    let brokers = options.brokers;
    if (!brokers) {
      local = new LocalKafka({ heap: "1g" });
      await local.start();
      brokers = [local.brokers];
    }
    const topic = await fillTopic(brokers, messages, partitions);
    log(`bench consumer: backlog of ${messages} readings in ${topic}`);
    const ours: number[] = [];
    const base: number[] = [];
    for (let run = 0; run < runs; run++) {
      const out = await runKafkaTool("org.apache.kafka.tools.ConsumerPerformance", [
        "--bootstrap-server",
        brokers[0],
        "--topic",
        topic,
        "--messages",
        String(messages),
        "--group",
        `${topic}-java-${run}`,
        "--timeout",
        "60000",
      ]);
      base.push(parseConsumerPerf(out).fetchMsgPerSec);
      ours.push(await oursOnce(brokers, topic, partitions, messages, run));
      log(
        `bench consumer: run ${run + 1}: ours ${Math.round(ours[run])} msg/s, ConsumerPerformance ${
          Math.round(base[run])
        } msg/s`,
      );
    }
    return [
      await result({
        name: "consumer.consume_only",
        unit: "msg/s",
        baseline: "kafka ConsumerPerformance (fetch.nMsg.sec)",
        runs: ours.map(Math.round),
        baseline_runs: base.map(Math.round),
        notes:
          `${messages} readings, ${partitions} partitions; ours = kafkajs eachBatch + UTF-8/JSON decode + schema ` +
          "validation, no MongoDB; both timed from the first record",
      }),
    ];
  } finally {
    await local?.dispose();
  }
}

if (import.meta.main) {
  runMain(async () => {
    const flags = parseFlags(Deno.args, {
      messages: { type: "number", default: 500_000, min: 1000, integer: true, help: "Backlog size" },
      runs: { type: "number", default: 3, min: 1, max: 10, integer: true, help: "Runs of each" },
    });
    const results = await benchConsumer({ messages: flags.messages, runs: flags.runs });
    for (const r of results) console.log(JSON.stringify(r));
  });
}
