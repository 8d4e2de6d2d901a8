/**
 * The processor's Kafka publishes (dead letters, alert events, website
 * statistics and alerts) go through `RecordPublisher`, the one interface the
 * sinks see. `NativePublisher` implements it on the native client of
 * `producer/kafka` (idempotent, acks=all, per-partition retries with a
 * delivery timeout in time, leader moves followed at once), which keeps every
 * acknowledged record through a leader failover; kafkajs 2.2.4's producer does
 * not (tulios/kafkajs#1303). One native producer per topic, connected on first
 * use; one publisher is shared by the sensor and website paths of a process.
 */
import type { KafkaConfig, Logger } from "@iot/shared";
import { NativeProducer, type SendOutcome } from "../../producer/kafka/mod.ts";

/** A record to publish: key bytes or string (null: no key), value, string headers. */
export interface PublishRecord {
  key: string | Uint8Array | null;
  value: string | Uint8Array | null;
  headers?: Readonly<Record<string, string>>;
}

/** Publishes records to a topic; resolves once all are acknowledged, rejects when any failed. */
export interface RecordPublisher {
  send(topic: string, records: readonly PublishRecord[]): Promise<void>;
}

/** Some records of a publish failed; `cause` is the client's first definitive error. */
export class PublishError extends Error {
  override name = "PublishError";
  constructor(readonly topic: string, readonly outcome: SendOutcome) {
    super(
      `Publish to ${topic} failed for ${outcome.failed} of ${outcome.acked + outcome.failed} records: ` +
        (outcome.error?.message ?? "unknown error"),
      { cause: outcome.error },
    );
  }
}

/** A send waits at most this long for its acknowledgement before failing (the caller's retrier retries). */
export const DELIVERY_TIMEOUT_MS = 30_000;

/** Options of `NativePublisher`. */
export interface NativePublisherOptions {
  kafka: KafkaConfig;
  logger: Logger;
  /** Client id suffix (default `processor`). */
  role?: string;
  /** Per send, ms (default `DELIVERY_TIMEOUT_MS`). */
  deliveryTimeoutMs?: number;
}

/**
 * A `RecordPublisher` on the native client, one producer per topic.
 *
 * @example
 * ```ts
 * const publisher = new NativePublisher({ kafka: { brokers: ["127.0.0.1:9092"], clientId: "iot" }, logger });
 * await publisher.send("sensor-alerts", [{ key: "sensor_0001", value: "{}", headers: { event: "new" } }]);
 * publisher.close();
 * ```
 */
export class NativePublisher implements RecordPublisher {
  readonly #producers = new Map<string, Promise<NativeProducer>>();
  #closed = false;

  constructor(readonly o: NativePublisherOptions) {}

  /** Publishes `records` to `topic` (created beforehand) with the current time. */
  async send(topic: string, records: readonly PublishRecord[]): Promise<void> {
    if (records.length === 0) return;
    const producer = await this.#producer(topic);
    const outcome = await producer.send(records, Date.now());
    if (outcome.failed > 0) throw new PublishError(topic, outcome);
  }

  #producer(topic: string): Promise<NativeProducer> {
    if (this.#closed) return Promise.reject(new Error("The publisher is closed"));
    let p = this.#producers.get(topic);
    if (!p) {
      const { kafka, logger } = this.o;
      p = NativeProducer.connect({
        brokers: kafka.brokers,
        clientId: `${kafka.clientId}-${this.o.role ?? "processor"}`,
        topic,
        acks: -1,
        idempotent: true,
        compression: "none",
        deliveryTimeoutMs: this.o.deliveryTimeoutMs ?? DELIVERY_TIMEOUT_MS,
        security: { tls: kafka.tls, sasl: kafka.sasl },
        logger: logger.child("publisher"),
      }).then((producer) => {
        if (this.#closed) producer.close();
        return producer;
      });
      // A failed connect (a broker down at the time) is tried again by the next send.
      const connecting = p;
      connecting.catch(() => {
        if (this.#producers.get(topic) === connecting) this.#producers.delete(topic);
      });
      this.#producers.set(topic, p);
    }
    return p;
  }

  /** Closes every producer; sends still waiting fail. */
  close(): void {
    this.#closed = true;
    for (const p of this.#producers.values()) p.then((producer) => producer.close(), () => {});
    this.#producers.clear();
  }
}

/** A publisher and how to release it. */
export interface OwnedPublisher {
  publisher: RecordPublisher;
  /** Closes the publisher if it was created here; a given one is left to its owner. */
  close(): void;
}

/** The given publisher (shared, its owner closes it), or a new `NativePublisher` owned by the caller. */
export function usePublisher(given: RecordPublisher | undefined, options: NativePublisherOptions): OwnedPublisher {
  if (given) return { publisher: given, close: () => {} };
  const own = new NativePublisher(options);
  return { publisher: own, close: () => own.close() };
}
