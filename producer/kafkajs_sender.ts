/**
 * The producer's records through kafkajs (`--client kafkajs`), and the logger
 * kafkajs gets: quiet about what the producer reports itself.
 */
import { CompressionTypes, type Kafka, type Message, Partitioners } from "kafkajs";
import type { Logger } from "@iot/shared";
import type { RecordSender, SenderOptions } from "./record_sender.ts";

/** Retries of a kafkajs send when none are given (kafkajs bounds sends by count only). */
export const KAFKAJS_RETRIES = 10;

/** A sender on a kafkajs producer of `kafka` (one send at a time when idempotent). */
export async function kafkajsSender(kafka: Kafka, o: SenderOptions): Promise<RecordSender> {
  const producer = kafka.producer({
    idempotent: o.idempotent,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    maxInFlightRequests: o.idempotent ? 1 : undefined,
    retry: { retries: o.retries ?? KAFKAJS_RETRIES, initialRetryTime: 100, maxRetryTime: 5000 },
  });
  await producer.connect();
  const compression = o.compression === "gzip" ? CompressionTypes.GZIP : CompressionTypes.None;
  return {
    send: (records) => {
      const messages: Message[] = records.map((r) => ({ key: r.key, value: r.value as string }));
      const outcome = producer.send({ topic: o.topic, acks: o.acks, timeout: 30_000, compression, messages }).then(
        () => ({ acked: records.length, failed: 0 }),
        (e) => ({ acked: 0, failed: records.length, error: e as Error }),
      );
      return [{ lane: 0, records, outcome }];
    },
    stalled: () => false,
    close: () => producer.disconnect(),
  };
}

// kafkajs warns on every idempotent producer with bounded retries. Bounded
// retries are deliberate here: a send that still fails is counted as failed
// (and the exit code says so) instead of blocking shutdown forever.
const RETRY_NOTICE = /Limiting retries for the idempotent producer/;

/**
 * The logger given to kafkajs: drops the retry notice, and while connecting
 * turns kafkajs' per-attempt connection errors (with stacks) into debug lines;
 * the producer reports a failed connect once, clearly.
 */
export function kafkaLogger(logger: Logger, connecting: () => boolean): Logger {
  const wrap = (inner: Logger): Logger => ({
    name: inner.name,
    debug: (m, f) => inner.debug(m, f),
    info: (m, f) => inner.info(m, f),
    warn: (m, f) => RETRY_NOTICE.test(m) ? inner.debug(m, f) : inner.warn(m, f),
    error: (m, f) => connecting() ? inner.debug(m, f) : inner.error(m, f),
    child: (name) => wrap(inner.child(name)),
    enabled: (level) => inner.enabled(level),
  });
  return wrap(logger);
}
