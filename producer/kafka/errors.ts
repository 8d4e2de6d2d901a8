/**
 * The errors of the native Kafka client: the protocol's error codes (name and
 * whether a retry may succeed), a protocol error carrying its code, and a
 * connection error; plus the classification the retry policy needs.
 */

/** A Kafka error code in a response. */
export class KafkaProtocolError extends Error {
  override name = "KafkaProtocolError";
  constructor(readonly code: number, message: string, readonly retriable: boolean) {
    super(message);
  }
}

/** The connection to a broker failed or timed out. */
export class KafkaConnectionError extends Error {
  override name = "KafkaConnectionError";
}

/** TLS or SASL refused the connection (bad credentials, an untrusted certificate): retrying cannot help. */
export class KafkaAuthenticationError extends Error {
  override name = "KafkaAuthenticationError";
}

/** Error codes: name and whether a retry may succeed. */
const ERRORS: Record<number, [string, boolean]> = {
  1: ["OFFSET_OUT_OF_RANGE", false],
  2: ["CORRUPT_MESSAGE", true],
  3: ["UNKNOWN_TOPIC_OR_PARTITION", true],
  5: ["LEADER_NOT_AVAILABLE", true],
  6: ["NOT_LEADER_OR_FOLLOWER", true],
  7: ["REQUEST_TIMED_OUT", true],
  10: ["MESSAGE_TOO_LARGE", false],
  13: ["NETWORK_EXCEPTION", true],
  14: ["COORDINATOR_LOAD_IN_PROGRESS", true],
  15: ["COORDINATOR_NOT_AVAILABLE", true],
  18: ["RECORD_LIST_TOO_LARGE", false],
  19: ["NOT_ENOUGH_REPLICAS", true],
  20: ["NOT_ENOUGH_REPLICAS_AFTER_APPEND", true],
  29: ["TOPIC_AUTHORIZATION_FAILED", false],
  31: ["CLUSTER_AUTHORIZATION_FAILED", false],
  33: ["UNSUPPORTED_SASL_MECHANISM", false],
  34: ["ILLEGAL_SASL_STATE", false],
  45: ["OUT_OF_ORDER_SEQUENCE_NUMBER", true],
  47: ["INVALID_PRODUCER_EPOCH", false],
  56: ["KAFKA_STORAGE_ERROR", true],
  58: ["SASL_AUTHENTICATION_FAILED", false],
  59: ["UNKNOWN_PRODUCER_ID", false],
  74: ["FENCED_LEADER_EPOCH", true],
  75: ["UNKNOWN_LEADER_EPOCH", true],
  87: ["INVALID_RECORD", false],
};

/** The broker already has this batch (an idempotent retry): a success. */
export const DUPLICATE_SEQUENCE = 46;

/** Errors after which the partition's leader must be looked up again. */
const LEADERSHIP_ERRORS = new Set([3, 5, 6, 74, 75]);

/** Errors that say a batch is above the broker's or topic's size limit. */
const TOO_LARGE_ERRORS = new Set([10, 18]);

/** The error of `code` in a response to `what` (e.g. "Produce to topic/0"). */
export function protocolError(code: number, what: string): KafkaProtocolError {
  const [name, retriable] = ERRORS[code] ?? [`error ${code}`, false];
  return new KafkaProtocolError(code, `${what} failed with ${name} (code ${code})`, retriable);
}

/** Whether another attempt may succeed: connection errors and retriable protocol errors. */
export function isRetriable(error: unknown): boolean {
  return error instanceof KafkaConnectionError || (error instanceof KafkaProtocolError && error.retriable);
}

/** Whether the error means the cached leader may be wrong: connection errors and leadership codes. */
export function needsMetadataRefresh(error: unknown): boolean {
  return error instanceof KafkaConnectionError ||
    (error instanceof KafkaProtocolError && LEADERSHIP_ERRORS.has(error.code));
}

/** Whether the broker refused a batch as too large (MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE). */
export function isTooLarge(error: unknown): boolean {
  return error instanceof KafkaProtocolError && TOO_LARGE_ERRORS.has(error.code);
}
