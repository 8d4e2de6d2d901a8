/**
 * The "3-broker RF 3" rows: the producer's throughput and the pipeline's
 * drain rate on a local 3-node KRaft cluster (every topic with 3 replicas and
 * `min.insync.replicas=2`, so acks=all waits for two copies), each against the
 * same measurement on the single broker of this session.
 */
import { LocalKafkaCluster } from "../dev/kafka_cluster.ts";
import { benchPipeline } from "./pipeline.ts";
import { benchProducer } from "./producer.ts";
import type { BenchResult } from "./result.ts";

/** Options of `benchCluster`. */
export interface BenchClusterOptions {
  /** The single broker the baselines run on. */
  single: string[];
  /** Existing MongoDB for the pipeline rows (default: the local stand-in). */
  mongoUrl?: string;
  /** Runs per measurement (default 1). */
  runs?: number;
  log?: (line: string) => void;
}

/** Measures producer and pipeline on a local 3-node cluster against the single broker. */
export async function benchCluster(options: BenchClusterOptions): Promise<BenchResult[]> {
  const log = options.log ?? ((l: string) => console.error(l));
  const runs = options.runs ?? 1;
  const producerOpts = { messages: 300_000, runs, variants: false, log };
  const pipelineOpts = { mongoUrl: options.mongoUrl, messages: 200_000, runs, fullOnly: true, log };
  const singleProducer = (await benchProducer({ ...producerOpts, brokers: options.single }))[0];
  const singlePipeline = (await benchPipeline({ ...pipelineOpts, brokers: options.single }))[0];
  const cluster = new LocalKafkaCluster({ nodes: 3 });
  log(`bench cluster: starting a 3-node cluster on ${cluster.brokers} ...`);
  await cluster.start();
  try {
    const brokers = cluster.brokerList;
    const producer = (await benchProducer({ ...producerOpts, brokers }))[0];
    const pipeline = (await benchPipeline({ ...pipelineOpts, brokers }))[0];
    const against = (r: BenchResult, base: BenchResult, name: string): BenchResult => ({
      ...r,
      name,
      baseline: `the same on one broker (${base.name})`,
      baseline_value: base.value,
      baseline_runs: base.runs,
      ratio: Math.round((r.value / base.value) * 1000) / 1000,
      notes: `3 KRaft nodes on this machine, RF 3, min.insync.replicas=2; ${r.notes ?? ""}`,
      target: undefined,
      met: undefined,
    });
    return [
      against(producer, singleProducer, "cluster.producer_throughput (3 brokers, RF 3, acks=all)"),
      against(pipeline, singlePipeline, "cluster.drain_rate (3 brokers, RF 3)"),
    ];
  } finally {
    await cluster.dispose();
  }
}
