/**
 * Reaching Kafka before producing: create the topic if it is missing, then
 * open the sending client, all within a deadline, and abandon cleanly when
 * the deadline passes or a stop is requested meanwhile.
 */
import type { Kafka } from "kafkajs";
import { ensureTopics, isKafkaAuthenticationError, type Logger } from "@iot/shared";
import type { RecordSender } from "./record_sender.ts";

/** The broker could not be reached, or the topic not created, within the connect deadline. */
export class ProducerConnectError extends Error {
  override name = "ProducerConnectError";
}

/** Options of `connectSender`. */
export interface ConnectOptions {
  kafka: Kafka;
  brokers: readonly string[];
  topic: string;
  /** Partitions when the topic has to be created. */
  partitions: number;
  /** Deadline of the whole connect, ms. */
  timeoutMs: number;
  /** Opens the sending client once the topic exists. */
  open: () => Promise<RecordSender>;
  /** Receives a function that abandons the connect (a stop request). */
  onAbandon: (abandon: () => void) => void;
  logger: Logger;
}

/** Creates the topic if needed and opens the sender; rejects with `ProducerConnectError` on deadline or stop. */
export async function connectSender(o: ConnectOptions): Promise<RecordSender> {
  const admin = o.kafka.admin();
  let sender: RecordSender | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new ProducerConnectError(`Cannot reach Kafka at ${o.brokers.join(",")} within ${o.timeoutMs / 1000} s`));
    }, o.timeoutMs);
  });
  const slow = setTimeout(() => {
    o.logger.warn("Kafka is not reachable yet; retrying until the connect deadline", {
      brokers: o.brokers.join(","),
      deadline_s: o.timeoutMs / 1000,
    });
  }, Math.min(3000, o.timeoutMs / 2));
  const stopped = new Promise<never>((_, reject) => {
    o.onAbandon(() => reject(new ProducerConnectError("Stopped before Kafka was reached")));
  });
  let abandoned = false;
  try {
    await Promise.race([
      (async () => {
        await admin.connect();
        const created = await ensureTopics(admin, [{ topic: o.topic, numPartitions: o.partitions }]);
        if (created.length) o.logger.info("Created topic", { topic: o.topic, partitions: o.partitions });
        const s = await o.open();
        if (abandoned) await s.close();
        else sender = s;
      })(),
      deadline,
      stopped,
    ]);
    return sender!;
  } catch (e) {
    abandoned = true;
    await sender?.close().catch(() => {});
    // Refused credentials or certificates: one line, no stack (kafkajs's and the native client's errors).
    if (isKafkaAuthenticationError(e)) {
      throw new ProducerConnectError(`Kafka at ${o.brokers.join(",")} refused the connection: ${e.message}`);
    }
    throw e;
  } finally {
    clearTimeout(timer);
    clearTimeout(slow);
    await admin.disconnect().catch(() => {});
  }
}
