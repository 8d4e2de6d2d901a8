/**
 * The native Kafka client of the producer: a lean, idempotent, single-topic
 * producer on Deno's TCP sockets (see `producer.ts` for its guarantees).
 *
 * ```ts
 * import { NativeProducer } from "./mod.ts";
 * const producer = await NativeProducer.connect({
 *   brokers: ["127.0.0.1:9092"], clientId: "demo", topic: "sensor-data",
 *   acks: -1, idempotent: true, compression: "none", retries: 10, logger,
 * });
 * const { acked, failed } = await producer.send([{ key: "sensor_0001", value: "{}" }], Date.now());
 * producer.close();
 * ```
 * @module
 */
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  type NativeMessage,
  NativeProducer,
  type NativeProducerOptions,
  type SendOutcome,
} from "./producer.ts";
export { KafkaAuthenticationError, KafkaConnectionError, KafkaProtocolError } from "./errors.ts";
export type { BatchCompression } from "./protocol/record_batch.ts";
