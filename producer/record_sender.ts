/**
 * The producer's view of a Kafka client: hand it a batch of generated
 * records, learn per part (a partition for the native client, the whole
 * batch for kafkajs) how many were acknowledged. `nativeSender` adapts the
 * native client; `kafkajs_sender.ts` adapts kafkajs.
 */
import type { GeneratedRecord } from "./generator.ts";
import { NativeProducer, type NativeProducerOptions, type SendOutcome } from "./kafka/mod.ts";

export type { SendOutcome };

/** One lane's share of a send: its records and what became of them. */
export interface SendPart {
  /** A partition (native client), or 0 for a client that sends the batch as a whole. */
  lane: number;
  records: GeneratedRecord[];
  outcome: Promise<SendOutcome>;
}

/** Sends batches of records; each part of a send settles on its own. */
export interface RecordSender {
  send(records: GeneratedRecord[]): SendPart[];
  /** Whether a lane is stalled (its partition's batches are being retried). */
  stalled(lane: number): boolean;
  close(): Promise<void>;
}

/** What a client adapter needs to know: the native client's options, with the pipelining depth required. */
export type SenderOptions = Omit<NativeProducerOptions, "maxMessageBytes" | "requestTimeoutMs" | "connectTimeoutMs"> & {
  maxInFlight: number;
};

/** A sender on the native client (connects, loads metadata, obtains a producer id). */
export async function nativeSender(o: SenderOptions): Promise<RecordSender> {
  const native = await NativeProducer.connect(o);
  o.logger.debug("Connected", { partitions: native.partitions, max_message_bytes: native.maxMessageBytes });
  return {
    send: (records) => {
      // One part per partition: a partition without a leader does not hold back the others' outcomes.
      const byPartition = new Map<number, GeneratedRecord[]>();
      for (const r of records) {
        const p = native.partitionOf(r.key);
        let group = byPartition.get(p);
        if (!group) byPartition.set(p, group = []);
        group.push(r);
      }
      const now = Date.now();
      return [...byPartition].map(([lane, group]) => ({ lane, records: group, outcome: native.send(group, now) }));
    },
    stalled: (lane) => native.isRetrying(lane),
    close: () => Promise.resolve(native.close()),
  };
}
