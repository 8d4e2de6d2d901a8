/**
 * The dead-letter sink: refused records go to the DLQ topic (original bytes,
 * reason and origin in headers) and a short copy to `dead_letters` (`_id`
 * `topic:partition:offset`, so a replay adds nothing). Both copies are
 * written at once, the MongoDB copy as one unordered insert per 1000.
 *
 * No dead letter blocks its partition:
 * - publishes are chunked by bytes below the DLQ topic's `max.message.bytes`;
 * - a record too large for the topic is published truncated, with headers
 *   `dlq.truncated=true` and `dlq.original_size`;
 * - a chunk the broker refuses for good (too large, invalid record) is split
 *   and resent; a single record refused for good keeps only its MongoDB copy,
 *   counted and logged. Retriable errors are retried up to the deadline.
 */
import type { Collection } from "mongodb";
import type { Admin } from "kafkajs";
import { type DeadLetterDoc, isOnlyDuplicateKeys, type Logger } from "@iot/shared";
import { chunks } from "../concurrency.ts";
import type { Rejected } from "../stages/decode.ts";
import { deadLetterDoc, type DeadLetterMessage, deadLetterMessage } from "./dlq.ts";
import { isRetriable } from "./errors.ts";
import type { RecordPublisher } from "./publisher.ts";
import type { Retrier } from "./retrying.ts";

/** `max.message.bytes` assumed when the topic's configuration cannot be read (Kafka's default is 1 MB + 12 B). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_576;

/** Bytes kept free below the limit for the record batch and request framing. */
export const HEADROOM_BYTES = 16 * 1024;

/** Per-record overhead counted on top of key, value and headers (varints, attributes, deltas). */
const RECORD_OVERHEAD = 64;

/** Estimated bytes of one DLQ record in a record batch. */
export function messageBytes(m: DeadLetterMessage): number {
  let n = RECORD_OVERHEAD + (m.key?.byteLength ?? 0) + (m.value?.byteLength ?? 0);
  for (const [k, v] of Object.entries(m.headers)) n += k.length + Buffer.byteLength(v) + 4;
  return n;
}

/** Splits messages into publishes of at most `maxBytes` each (a single larger message goes alone). */
export function chunkByBytes<T>(items: readonly T[], size: (item: T) => number, maxBytes: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const it of items) {
    const n = size(it);
    if (cur.length && bytes + n > maxBytes) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(it);
    bytes += n;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** A message cut to fit `maxBytes`, with headers that say so; unchanged when it fits. */
export function fitMessage(m: DeadLetterMessage, maxBytes: number): DeadLetterMessage {
  const size = messageBytes(m);
  if (size <= maxBytes || !m.value) return m;
  const original = m.value.byteLength;
  const headers = { ...m.headers, "dlq.truncated": "true", "dlq.original_size": String(original) };
  const room = Math.max(0, maxBytes - messageBytes({ ...m, value: null, headers }));
  return { key: m.key, value: m.value.subarray(0, Math.min(original, room)), headers };
}

/** Reads `max.message.bytes` of a topic; undefined when it cannot be read. */
export async function topicMaxMessageBytes(admin: Admin, topic: string): Promise<number | undefined> {
  try {
    const res = await admin.describeConfigs({
      resources: [{ type: 2, /* ConfigResourceTypes.TOPIC */ name: topic, configNames: ["max.message.bytes"] }],
      includeSynonyms: false,
    });
    const v = Number(res.resources[0]?.configEntries.find((e) => e.configName === "max.message.bytes")?.configValue);
    return Number.isFinite(v) && v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

/** What one write did. */
export interface DeadLetterResult {
  /** Records published (whole or truncated). */
  published: number;
  /** Records published truncated. */
  truncated: number;
  /** Records the topic refused for good: only their MongoDB copy exists. */
  mongoOnly: number;
}

/** Options of `DeadLetterSink`. */
export interface DeadLetterSinkOptions {
  publisher: RecordPublisher;
  topic: string;
  collection: Collection<DeadLetterDoc>;
  retry: Retrier;
  log: Logger;
  /** The DLQ topic's `max.message.bytes` (default 1 MB). */
  maxMessageBytes?: number;
}

/** Publishes and stores dead letters. */
export class DeadLetterSink {
  readonly maxBytes: number;

  constructor(readonly o: DeadLetterSinkOptions) {
    this.maxBytes = Math.max(4096, (o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES) - HEADROOM_BYTES);
  }

  /** Dead-letters `rejected` (both copies) at time `at`. */
  async write(rejected: readonly Rejected[], at: Date, heartbeat?: () => Promise<void>): Promise<DeadLetterResult> {
    const result: DeadLetterResult = { published: 0, truncated: 0, mongoOnly: 0 };
    if (rejected.length === 0) return result;
    await Promise.all([this.#publish(rejected, at, result, heartbeat), this.#store(rejected, at, heartbeat)]);
    return result;
  }

  async #store(rejected: readonly Rejected[], at: Date, heartbeat?: () => Promise<void>): Promise<void> {
    for (const docs of chunks(rejected.map((r) => deadLetterDoc(r, at)), 1000)) {
      await this.o.retry("Dead-letter write", async () => {
        try {
          await this.o.collection.insertMany(docs, { ordered: false });
        } catch (e) {
          if (!isOnlyDuplicateKeys(e)) throw e; // already stored: a replay
        }
      }, heartbeat);
    }
  }

  async #publish(
    rejected: readonly Rejected[],
    at: Date,
    result: DeadLetterResult,
    heartbeat?: () => Promise<void>,
  ): Promise<void> {
    const messages = rejected.map((r) => {
      const m = fitMessage(deadLetterMessage(r, at), this.maxBytes);
      if (m.headers["dlq.truncated"]) result.truncated++;
      return m;
    });
    for (const chunk of chunkByBytes(messages, messageBytes, this.maxBytes)) {
      await this.#send(chunk, result, heartbeat);
    }
  }

  /** Sends one chunk; a chunk refused for good is halved, a single record refused for good is dropped. */
  async #send(chunk: DeadLetterMessage[], result: DeadLetterResult, heartbeat?: () => Promise<void>): Promise<void> {
    try {
      await this.o.retry(
        "Dead-letter publish",
        () => this.o.publisher.send(this.o.topic, chunk),
        heartbeat,
      );
      result.published += chunk.length;
    } catch (e) {
      if (isRetriable(e)) throw e;
      if (chunk.length > 1) {
        const half = Math.ceil(chunk.length / 2);
        await this.#send(chunk.slice(0, half), result, heartbeat);
        await this.#send(chunk.slice(half), result, heartbeat);
        return;
      }
      result.mongoOnly++;
      const h = chunk[0].headers;
      this.o.log.warn("Dead letter refused by the DLQ topic: only its dead_letters copy is kept", {
        source: `${h["source.topic"]}:${h["source.partition"]}:${h["source.offset"]}`,
        reason: h.reason,
        bytes: messageBytes(chunk[0]),
        error: e,
      });
    }
  }
}
