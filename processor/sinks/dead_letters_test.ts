import assert from "node:assert/strict";
import type { Collection } from "mongodb";
import { createLogger, type DeadLetterDoc } from "@iot/shared";
import type { Rejected } from "../stages/decode.ts";
import { chunkByBytes, DeadLetterSink, fitMessage, messageBytes } from "./dead_letters.ts";
import { deadLetterMessage } from "./dlq.ts";
import { createRetrier } from "./retrying.ts";
import { isRetriable } from "./errors.ts";
import type { PublishRecord, RecordPublisher } from "./publisher.ts";
import { KafkaProtocolError } from "../../producer/kafka/mod.ts";

const log = createLogger({ name: "test", level: "error" });

function rejected(offset: number, bytes: number): Rejected {
  return {
    topic: "t",
    partition: 0,
    offset: String(offset),
    key: null,
    value: new Uint8Array(bytes).fill(0x78),
    reason: "invalid_json",
    detail: "bad",
  };
}

Deno.test("publishes are chunked by bytes; a single large message goes alone", () => {
  const sizes = [400, 400, 400, 2000, 100];
  const out = chunkByBytes(sizes, (n) => n, 1000);
  assert.deepEqual(out, [[400, 400], [400], [2000], [100]]);
});

Deno.test("a message too large for the topic is truncated with headers that say so", () => {
  const m = deadLetterMessage(rejected(1, 50_000), new Date(0));
  const fit = fitMessage(m, 10_000);
  assert.equal(fit.headers["dlq.truncated"], "true");
  assert.equal(fit.headers["dlq.original_size"], "50000");
  assert.ok(messageBytes(fit) <= 10_000);
  assert.ok(fit.value!.byteLength > 9000, "as much of the value as fits");
  assert.equal(fitMessage(deadLetterMessage(rejected(2, 10), new Date(0)), 10_000).headers["dlq.truncated"], undefined);
});

Deno.test("a record the topic refuses for good keeps its MongoDB copy; the others are published", async () => {
  const sent: number[] = [];
  const publisher: RecordPublisher = {
    send: (topic: string, messages: readonly PublishRecord[]) => {
      assert.equal(topic, "dlq");
      if (messages.some((m) => m.headers?.["source.offset"] === "3")) {
        return Promise.reject(new Error("refused", { cause: new KafkaProtocolError(10, "MESSAGE_TOO_LARGE", false) }));
      }
      for (const m of messages) sent.push(Number(m.headers?.["source.offset"]));
      return Promise.resolve();
    },
  };
  const stored: string[] = [];
  const collection = {
    insertMany: (docs: DeadLetterDoc[]) => {
      stored.push(...docs.map((d) => d._id));
      return Promise.resolve({});
    },
  } as unknown as Collection<DeadLetterDoc>;
  const retry = createRetrier({ log, deadlineMs: 1000, isRetriable });
  const sink = new DeadLetterSink({ publisher, topic: "dlq", collection, retry, log, maxMessageBytes: 1_048_576 });
  const r = await sink.write([1, 2, 3, 4, 5].map((o) => rejected(o, 100)), new Date(0));
  assert.deepEqual(r, { published: 4, truncated: 0, mongoOnly: 1 });
  assert.deepEqual(sent.sort(), [1, 2, 4, 5]);
  assert.equal(stored.length, 5, "every dead letter has its MongoDB copy");
});
