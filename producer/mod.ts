/**
 * The sensor fleet producer as a library: generate realistic readings and
 * publish them to Kafka at a target rate, with statistics.
 *
 * ```ts
 * import { runProducer } from "@iot/producer";
 * const result = await runProducer({ brokers: ["127.0.0.1:9092"], rate: 1000, durationS: 10 });
 * ```
 * @module
 */
export {
  type Acks,
  type ClientKind,
  type Compression,
  ProducerConnectError,
  type ProducerHandle,
  type ProducerOptions,
  type ProducerResult,
  runProducer,
  startProducer,
} from "./producer.ts";
export {
  FleetGenerator,
  type GeneratedRecord,
  type GeneratorOptions,
  MALFORMED_KINDS,
  type MalformedKind,
  type RecordKind,
  type ScenarioOptions,
} from "./generator.ts";
export { RateController, type RateControllerOptions } from "./rate.ts";
export { LogHistogram, type Percentiles } from "./histogram.ts";
export { type BatchTally, type CountedStatus, formatStats, ProducerStats, type StatsSnapshot } from "./stats.ts";
export { parseProducerArgs, type ProducerCli } from "./options.ts";
export { Random, randomSeed } from "./random.ts";
