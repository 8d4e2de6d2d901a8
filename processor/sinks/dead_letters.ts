/**
 * The dead-letter sink: refused records go to the DLQ topic (original bytes,
 * reason and origin in headers) and a short copy to `dead_letters` (`_id`
 * `topic:partition:offset`, so a replay adds nothing).
 */
import type { AnyBulkWriteOperation, Collection } from "mongodb";
import type { Producer } from "kafkajs";
import { type DeadLetterDoc, isOnlyDuplicateKeys } from "@iot/shared";
import type { Rejected } from "../stages/decode.ts";
import { deadLetterDoc, deadLetterMessage } from "./dlq.ts";
import type { Retrier } from "./retrying.ts";

/** Options of `DeadLetterSink`. */
export interface DeadLetterSinkOptions {
  producer: Producer;
  topic: string;
  collection: Collection<DeadLetterDoc>;
  retry: Retrier;
}

/** Publishes and stores dead letters. */
export class DeadLetterSink {
  constructor(readonly o: DeadLetterSinkOptions) {}

  /** Dead-letters `rejected` (both copies) at time `at`. */
  async write(rejected: readonly Rejected[], at: Date, heartbeat?: () => Promise<void>): Promise<void> {
    if (rejected.length === 0) return;
    await this.o.retry("Dead-letter publish", () =>
      this.o.producer.send({
        topic: this.o.topic,
        acks: -1,
        messages: rejected.map((r) => deadLetterMessage(r, at)),
      }), heartbeat);
    const ops: AnyBulkWriteOperation<DeadLetterDoc>[] = rejected.map((r) => {
      const doc = deadLetterDoc(r, at);
      return { updateOne: { filter: { _id: doc._id }, update: { $setOnInsert: doc }, upsert: true } };
    });
    await this.o.retry("Dead-letter write", async () => {
      try {
        await this.o.collection.bulkWrite(ops, { ordered: false });
      } catch (e) {
        if (!isOnlyDuplicateKeys(e)) throw e;
      }
    }, heartbeat);
  }
}
