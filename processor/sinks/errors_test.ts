import assert from "node:assert/strict";
import { isRetriable, isTooLarge, kafkaErrorType } from "./errors.ts";

function kafkaProtocolError(type: string): Error {
  const e = new Error(`broker said ${type}`) as Error & { type: string };
  e.name = "KafkaJSProtocolError";
  e.type = type;
  return e;
}

Deno.test("too large and invalid records are not retriable, also wrapped by the client's retries", () => {
  for (const type of ["MESSAGE_TOO_LARGE", "INVALID_RECORD", "RECORD_LIST_TOO_LARGE"]) {
    assert.equal(isRetriable(kafkaProtocolError(type)), false, type);
  }
  const wrapped = new Error("Number of retries exceeded", { cause: kafkaProtocolError("MESSAGE_TOO_LARGE") });
  wrapped.name = "KafkaJSNumberOfRetriesExceeded";
  assert.equal(isRetriable(wrapped), false);
  assert.equal(isTooLarge(wrapped), true);
  assert.equal(kafkaErrorType(wrapped), "MESSAGE_TOO_LARGE");
});

Deno.test("connection and leader errors are retriable", () => {
  const conn = new Error("Connection error: ECONNREFUSED");
  conn.name = "KafkaJSConnectionError";
  assert.equal(isRetriable(conn), true);
  assert.equal(isRetriable(kafkaProtocolError("NOT_LEADER_FOR_PARTITION")), true);
  assert.equal(isRetriable(kafkaProtocolError("LEADER_NOT_AVAILABLE")), true);
  const mongoNet = new Error("connection closed");
  mongoNet.name = "MongoNetworkError";
  assert.equal(isRetriable(mongoNet), true);
  assert.equal(isTooLarge(conn), false);
});

Deno.test("a MongoDB write refused for its content is not retriable", () => {
  const tooBig = Object.assign(new Error("object to insert too large"), { name: "MongoServerError", code: 10334 });
  assert.equal(isRetriable(tooBig), false);
  const bulk = Object.assign(new Error("bulk"), { name: "MongoBulkWriteError", writeErrors: [{ code: 121 }] });
  assert.equal(isRetriable(bulk), false);
  const bson = Object.assign(new Error("Document is larger than the maximum size"), { name: "BSONError" });
  assert.equal(isRetriable(bson), false);
});

Deno.test("the native producer's errors are classified by their code", async () => {
  const { KafkaConnectionError, KafkaProtocolError } = await import("../../producer/kafka/mod.ts");
  const tooLarge = new Error("3 of 10 records failed", { cause: new KafkaProtocolError(10, "too large", false) });
  assert.equal(isRetriable(tooLarge), false);
  assert.equal(isTooLarge(tooLarge), true);
  assert.equal(kafkaErrorType(tooLarge), "MESSAGE_TOO_LARGE");
  assert.equal(isRetriable(new KafkaProtocolError(87, "invalid record", false)), false);
  assert.equal(isRetriable(new KafkaProtocolError(6, "NOT_LEADER_OR_FOLLOWER", true)), true);
  assert.equal(isRetriable(new KafkaProtocolError(59, "UNKNOWN_PRODUCER_ID", false)), true, "a new producer id helps");
  assert.equal(isRetriable(new KafkaConnectionError("refused")), true);
  assert.equal(isTooLarge(new KafkaConnectionError("refused")), false);
});
