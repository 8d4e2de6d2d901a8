/**
 * `deno task bench [producer|consumer|pipeline|poison|latency|scaling|cluster|detection|all] [--quick] [--json]`,
 * `deno task bench failover [its flags, see --help]`
 *
 * Starts one local Kafka broker (unless KAFKA_BROKERS is set) and runs the
 * chosen measurements on it, each next to a baseline measured in the same
 * session (Kafka's own tools, or the processor's consume-only mode). Writes
 * `bench/results/latest.json` and `latest.md`. With `--quick` (a subset of
 * about 3 minutes) the last line printed is the JSON of the pipeline measurement;
 * `latency --quick` adds the latency measurement at 10 s per rate.
 * `detection` runs in process on a simulated clock and needs no Kafka;
 * `cluster` starts its own local 3-node cluster (RF 3, min ISR 2).
 * `failover` (`bench/failover/main.ts`) is the failover matrix of Kafka
 * clients on a 3-node cluster of its own, with its own flags and results
 * (`bench/results/failover_clients.*`). Its twelve runs of 20 s, each with a
 * restart and a read-back, take several minutes, so it is not part of `all`.
 */
import { parseBrokers, parseFlags, runMain, usage, UsageError } from "@iot/shared";
import { LocalKafka } from "../dev/kafka.ts";
import { benchConsumer } from "./consumer.ts";
import { benchDetection } from "./detection.ts";
import { benchLatency } from "./latency.ts";
import { benchPipeline } from "./pipeline.ts";
import { benchProducer } from "./producer.ts";
import { benchCluster } from "./cluster.ts";
import { failoverMain } from "./failover/main.ts";
import { type BenchResult, markdown, writeResults } from "./result.ts";

const SUITES = [
  "producer",
  "consumer",
  "pipeline",
  "poison",
  "latency",
  "scaling",
  "cluster",
  "detection",
  "failover",
  "all",
] as const;
type Suite = typeof SUITES[number];

const FLAGS = {
  quick: { type: "boolean", default: false, help: "A subset of about 3 minutes; last line = pipeline JSON" },
  json: { type: "boolean", default: false, help: "Print one JSON object per measurement on stdout" },
  runs: { type: "number", min: 1, max: 10, integer: true, help: "Runs per measurement (default per suite)" },
} as const;

runMain(async () => {
  // The failover matrix takes flags of its own: everything after its name is for it.
  if (Deno.args[0] === "failover") {
    return await failoverMain({ args: Deno.args.slice(1), command: "deno task bench failover" });
  }
  const positional = Deno.args.filter((a) => !a.startsWith("--"));
  const flags = parseFlags(Deno.args.filter((a) => a.startsWith("--")), FLAGS);
  if (flags.help) {
    console.log(usage(`deno task bench [${SUITES.join("|")}]`, "Benchmarks against Kafka's own tools.", FLAGS));
    return 0;
  }
  if (positional.length > 1) throw new UsageError(`One suite at a time, got ${positional.join(" ")}`);
  const suite = (positional[0] ?? "all") as Suite;
  if (!SUITES.includes(suite)) throw new UsageError(`Unknown suite "${suite}"; one of ${SUITES.join(", ")}`);
  if (suite === "failover") throw new UsageError("failover comes first: deno task bench failover [its flags]");
  const log = (l: string) => console.error(l);
  const runs = flags.runs;
  const quick = flags.quick;
  const want = (s: Suite) => suite === s || suite === "all";
  if (suite === "detection") {
    const results = await benchDetection({ log, quick });
    const files = await writeResults(results);
    log(markdown(results));
    log(`bench: wrote ${files.join(", ")}`);
    if (flags.json) { for (const r of results) console.log(JSON.stringify(r)); }
    return results.every((r) => r.met !== false) ? 0 : 1;
  }

  let local: LocalKafka | undefined;
  let brokers: string[];
  const given = Deno.env.get("KAFKA_BROKERS");
  if (given) {
    brokers = parseBrokers(given);
    log(`bench: using Kafka at ${given}`);
  } else {
    local = new LocalKafka({ heap: "1g" });
    log(`bench: starting Kafka on ${local.brokers} ...`);
    await local.start();
    brokers = [local.brokers];
  }
  // MONGO_URL points the pipeline and scaling measurements at a real server (each run uses a fresh database).
  const mongoUrl = Deno.env.get("MONGO_URL") || undefined;
  if (mongoUrl) log("bench: pipeline and scaling use MongoDB at MONGO_URL");
  const results: BenchResult[] = [];
  const started = performance.now();
  try {
    if (want("producer")) {
      results.push(
        ...await benchProducer({
          brokers,
          messages: quick ? 150_000 : 500_000,
          runs: runs ?? (quick ? 1 : 3),
          variants: !quick,
          log,
        }),
      );
    }
    if (want("consumer") && !quick) {
      results.push(...await benchConsumer({ brokers, runs: runs ?? 3, log }));
    }
    let pipeline: BenchResult | undefined;
    if (want("pipeline") || quick) {
      const r = await benchPipeline({
        brokers,
        mongoUrl,
        messages: quick ? 60_000 : 300_000,
        runs: runs ?? (quick ? 1 : 3),
        log,
      });
      pipeline = r[0];
      results.push(...r);
    }
    if (want("poison") && !quick) {
      // Dead-lettering must keep up with storing: the same backlog size, valid and then refused.
      const opts = { brokers, mongoUrl, messages: 200_000, runs: runs ?? 1, fullOnly: true, log };
      const valid = (await benchPipeline(opts))[0];
      const [r] = await benchPipeline({ ...opts, poison: true });
      r.baseline = "pipeline.drain_rate of a valid backlog of the same size";
      r.baseline_value = valid.value;
      r.baseline_runs = valid.runs;
      r.ratio = Math.round((r.value / valid.value) * 1000) / 1000;
      r.target = "≥ 0.5× the valid drain rate";
      r.met = r.ratio >= 0.5;
      results.push(r);
    }
    if (want("latency") && (!quick || suite === "latency")) {
      const rates = [1000, 10_000];
      if (!quick && pipeline && pipeline.value / 2 > 1000 && Math.abs(pipeline.value / 2 - 10_000) > 1000) {
        rates.push(Math.round(pipeline.value / 2));
      }
      results.push(
        ...await benchLatency({ brokers, kafkaPid: local?.pid, rates, durationS: quick ? 10 : 30, log }),
      );
    }
    if (want("scaling") && !quick) {
      // Against one instance on 3 partitions, measured here with the same backlog size.
      const base =
        (await benchPipeline({ brokers, mongoUrl, messages: 200_000, runs: runs ?? 1, fullOnly: true, log }))[0];
      for (const [instances, partitions] of [[1, 6], [2, 3], [2, 6]]) {
        const [r] = await benchPipeline({
          brokers,
          mongoUrl,
          messages: 200_000,
          runs: runs ?? 1,
          instances,
          partitions,
          fullOnly: true,
          log,
        });
        r.name = `scaling.drain_rate (${instances} instance(s), ${partitions} partitions)`;
        r.baseline = "pipeline.drain_rate (1 instance, 3 partitions)";
        r.baseline_value = base.value;
        r.baseline_runs = base.runs;
        r.ratio = Math.round((r.value / base.value) * 1000) / 1000;
        r.target = instances === 2 && partitions === 6 ? "≥ 1.3× one instance" : undefined;
        r.met = r.target ? r.ratio >= 1.3 : undefined;
        results.push(r);
      }
    }
    if (want("cluster") && !quick) results.push(...await benchCluster({ runs, single: brokers, mongoUrl, log }));
    if (want("detection") && !quick) results.push(...await benchDetection({ log }));
    const files = await writeResults(results);
    log(markdown(results));
    log(`bench: done in ${((performance.now() - started) / 1000).toFixed(0)} s; wrote ${files.join(", ")}`);
    if (flags.json && !quick) { for (const r of results) console.log(JSON.stringify(r)); }
    if (quick) {
      if (flags.json) { for (const r of results.filter((r) => r !== pipeline)) console.log(JSON.stringify(r)); }
      console.log(JSON.stringify(pipeline));
    }
    return 0;
  } finally {
    await local?.dispose();
  }
});
