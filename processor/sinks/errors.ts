/**
 * Which sink errors are worth another attempt. A Kafka or MongoDB error that
 * the same request would hit again (the record is too large or invalid, the
 * topic is not allowed, the document cannot be stored) is not retriable: the
 * caller takes its fallback at once instead of retrying until the deadline.
 * Connection, leader and timeout errors are retriable. Both Kafka clients'
 * errors are told apart: kafkajs's (`KafkaJSProtocolError` with a `type`)
 * and the native producer's (`KafkaProtocolError` with a `code`).
 */

/** Kafka error types a resend of the same records fails with again. */
export const NON_RETRIABLE_KAFKA = new Set([
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_RECORD",
  "CORRUPT_MESSAGE",
  "INVALID_TOPIC_EXCEPTION",
  "INVALID_REQUIRED_ACKS",
  "TOPIC_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
  "UNSUPPORTED_FOR_MESSAGE_FORMAT",
  "UNSUPPORTED_VERSION",
  "INVALID_PRODUCER_EPOCH",
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
]);

/** Kafka's error codes of the types above (the native producer's errors carry the code). */
const KAFKA_ERROR_CODES: Record<number, string> = {
  2: "CORRUPT_MESSAGE",
  10: "MESSAGE_TOO_LARGE",
  17: "INVALID_TOPIC_EXCEPTION",
  18: "RECORD_LIST_TOO_LARGE",
  21: "INVALID_REQUIRED_ACKS",
  29: "TOPIC_AUTHORIZATION_FAILED",
  31: "CLUSTER_AUTHORIZATION_FAILED",
  35: "UNSUPPORTED_VERSION",
  43: "UNSUPPORTED_FOR_MESSAGE_FORMAT",
  47: "INVALID_PRODUCER_EPOCH",
  53: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
  87: "INVALID_RECORD",
};

/** MongoDB error codes a retry of the same write fails with again. */
export const NON_RETRIABLE_MONGO = new Set([
  2, // BadValue
  14, // TypeMismatch
  52, // DollarPrefixedFieldName
  55, // InvalidDBRef
  121, // DocumentValidationFailure
  10334, // BSONObjectTooLarge
  17419, // document too large after an update
]);

interface ErrorLike {
  name?: string;
  type?: string;
  code?: number | string;
  cause?: unknown;
  writeErrors?: unknown;
  errorResponse?: { code?: number };
}

/** The error and its causes, outermost first (at most 8 deep). */
function chain(error: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  let e: unknown = error;
  while (e && typeof e === "object" && out.length < 8) {
    out.push(e as ErrorLike);
    e = (e as ErrorLike).cause;
  }
  return out;
}

/**
 * The Kafka error type (`MESSAGE_TOO_LARGE`, ...) in an error's cause chain, if any: a kafkajs error's
 * type, or the name of a native producer error's code (of the codes above; others give `error <code>`).
 */
export function kafkaErrorType(error: unknown): string | undefined {
  for (const e of chain(error)) {
    if (typeof e.type === "string" && e.name === "KafkaJSProtocolError") return e.type;
    if (e.name === "KafkaProtocolError" && typeof e.code === "number") {
      return KAFKA_ERROR_CODES[e.code] ?? `error ${e.code}`;
    }
  }
  return undefined;
}

/** Whether an error is worth another attempt of the same request. */
export function isRetriable(error: unknown): boolean {
  for (const e of chain(error)) {
    if (e.name === "KafkaJSProtocolError" && typeof e.type === "string" && NON_RETRIABLE_KAFKA.has(e.type)) {
      return false;
    }
    if (e.name === "KafkaProtocolError" && NON_RETRIABLE_KAFKA.has(kafkaErrorType(e) ?? "")) return false;
    if (e.name === "KafkaAuthenticationError") return false;
    if (e.name === "BSONError" || e.name === "BSONVersionError") return false;
    if (typeof e.name === "string" && e.name.startsWith("Mongo")) {
      const codes = [e.code, e.errorResponse?.code];
      const we = e.writeErrors;
      const list = Array.isArray(we) ? we : we ? [we] : [];
      for (const w of list) codes.push((w as { code?: number }).code);
      if (codes.some((c) => typeof c === "number" && NON_RETRIABLE_MONGO.has(c))) return false;
    }
  }
  return true;
}

/** Whether an error says a Kafka request or record was too large for the broker. */
export function isTooLarge(error: unknown): boolean {
  const t = kafkaErrorType(error);
  return t === "MESSAGE_TOO_LARGE" || t === "RECORD_LIST_TOO_LARGE";
}
