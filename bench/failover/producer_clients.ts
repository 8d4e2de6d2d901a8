/**
 * The producer clients of the failover matrix, each as the producer's `RecordSender`: `native` and `kafkajs` as the
 * producer opens them, `platformatic` on a `@platformatic/kafka` `Producer`.
 */
import { Producer, stringSerializers } from "@platformatic/kafka";
import { createKafka, type Logger } from "@iot/shared";
import { kafkajsSender } from "../../producer/kafkajs_sender.ts";
import { nativeSender, type RecordSender, type SendOutcome } from "../../producer/record_sender.ts";
import { partitionForKey } from "../../producer/kafka/partitioner.ts";
import type { ProducerClient } from "./types.ts";

/** A `RecordSender` on a `@platformatic/kafka` producer: idempotent, acks all, each record to its murmur2 partition. */
export async function platformaticSender(brokers: string[], topic: string): Promise<RecordSender> {
  const producer = new Producer<string, string, string, string>({
    clientId: "failover-bench-platformatic",
    bootstrapBrokers: brokers,
    idempotent: true,
    acks: -1,
    serializers: stringSerializers,
  });
  // The first send initialises the producer id; doing it now makes "ready" mean ready.
  await producer.initIdempotentProducer({});
  const keys = new Map<string, number>();
  const encoder = new TextEncoder();
  const partitionOf = (key: string) => {
    let p = keys.get(key);
    if (p === undefined) keys.set(key, p = partitionForKey(encoder.encode(key), 3));
    return p;
  };
  return {
    send: (records) => {
      const messages = records.map((r) => ({
        topic,
        key: r.key,
        value: r.value as string,
        partition: partitionOf(r.key),
      }));
      const outcome: Promise<SendOutcome> = producer.send({ messages }).then(
        () => ({ acked: records.length, failed: 0 }),
        (e) => ({ acked: 0, failed: records.length, error: e as Error }),
      );
      return [{ lane: 0, records, outcome }];
    },
    stalled: () => false,
    close: () => producer.close(true),
  };
}

/** What `openSender` opens: a client of the matrix writing to `topic`. */
export interface SenderOptions {
  client: ProducerClient;
  brokers: string[];
  topic: string;
  /** Where the native and kafkajs clients log. */
  logger: Logger;
}

/** Opens the sending client of a producer run; `sends` is how many sends it may have pending at once. */
export async function openSender(
  { client, brokers, topic, logger }: SenderOptions,
): Promise<{ sender: RecordSender; sends: number }> {
  if (client === "native") {
    const sender = await nativeSender({
      brokers,
      clientId: "failover-bench-native",
      topic,
      acks: -1,
      idempotent: true,
      compression: "none",
      logger,
      maxInFlight: 5,
    });
    return { sender, sends: 4 };
  }
  if (client === "kafkajs") {
    // As the producer's `--client kafkajs`: retries 10, at most 5 s apart, one send at a time when idempotent.
    const k = await createKafka({ brokers, clientId: "failover-bench" }, {
      role: "kafkajs",
      logger,
      overrides: { retry: { initialRetryTime: 100, retries: 10, maxRetryTime: 5000 } },
    });
    const sender = await kafkajsSender(k, {
      brokers,
      clientId: "failover-bench-kafkajs",
      topic,
      acks: -1,
      idempotent: true,
      compression: "none",
      retries: 10,
      logger,
      maxInFlight: 1,
    });
    return { sender, sends: 1 };
  }
  if (client === "java") throw new RangeError("The Java client runs as a tool of its own (java_producer_run.ts)");
  return { sender: await platformaticSender(brokers, topic), sends: 1 };
}
