/**
 * The stream processor as a library: `startProcessor(options)` starts an
 * instance in this process and returns a handle to stop it gracefully.
 * @module
 */
import type { Logger } from "@iot/shared";
import type { RecordPublisher } from "./sinks/publisher.ts";
import { loadProcessorConfig, type ProcessorConfig } from "./config.ts";
import type { DetectorConfig } from "./stages/detectors.ts";
import type { ProcessorHandle } from "./handle.ts";
import { Processor } from "./pipeline.ts";

export { loadProcessorConfig, type ProcessorConfig, type ProcessorFlags } from "./config.ts";
export type { ProcessorHandle, ProcessorStats, StopReport } from "./handle.ts";
export { DEFAULT_DETECTOR_CONFIG, type DetectorConfig } from "./stages/detectors.ts";
export { NativePublisher, type PublishRecord, type RecordPublisher } from "./sinks/publisher.ts";

/** Options of `startProcessor`: any setting overrides the configuration loaded from `env`. */
export interface StartProcessorOptions
  extends Partial<Omit<ProcessorConfig, "kafka" | "mongo" | "topics" | "detectors" | "log">> {
  kafka?: Partial<ProcessorConfig["kafka"]>;
  mongo?: Partial<ProcessorConfig["mongo"]>;
  topics?: Partial<ProcessorConfig["topics"]>;
  detectors?: Partial<DetectorConfig>;
  log?: Partial<ProcessorConfig["log"]>;
  /** Environment to read defaults from (default: none, i.e. documented defaults). */
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** Publishes dead letters and alert events; shared with the website handler by `main.ts` (default: its own). */
  publisher?: RecordPublisher;
}

/** Resolves the full configuration of `startProcessor` options. */
export function resolveProcessorConfig(options: StartProcessorOptions = {}): ProcessorConfig {
  const { env, logger: _logger, publisher: _publisher, kafka, mongo, topics, detectors, log, ...rest } = options;
  const base = loadProcessorConfig(env ?? {});
  const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  return {
    ...base,
    ...defined,
    kafka: { ...base.kafka, ...kafka },
    mongo: { ...base.mongo, ...mongo },
    topics: { ...base.topics, ...topics },
    detectors: { ...base.detectors, ...detectors },
    log: { ...base.log, ...log },
  };
}

/**
 * Starts a processor instance: connects to Kafka and MongoDB, creates topics,
 * collections and indexes, joins the consumer group and starts consuming.
 * `ready` resolves once partitions are assigned.
 *
 * @example
 * ```ts
 * import { startProcessor } from "@iot/processor";
 * const processor = await startProcessor({
 *   kafka: { brokers: ["127.0.0.1:9092"] },
 *   mongo: { url: "mongodb://127.0.0.1:27017", db: "iot_analytics" },
 *   metricsPort: 9101,
 * });
 * await processor.ready; // partitions assigned
 * console.log(processor.stats().consumed);
 * await processor.stop(); // drain, flush, commit, close
 * ```
 */
export async function startProcessor(options: StartProcessorOptions = {}): Promise<ProcessorHandle> {
  const config = resolveProcessorConfig(options);
  const p = new Processor(config, options.logger, undefined, options.publisher);
  try {
    await p.start();
  } catch (e) {
    await p.stop(1000).catch(() => {});
    throw e;
  }
  return {
    ready: p.ready,
    stop: () => p.stop(),
    stats: () => p.stats(),
    config,
    metricsPort: p.metricsPort,
    metrics: p.metrics,
  };
}
