/** InitProducerId v1 (API key 22): a producer id and epoch for an idempotent producer without transactions. */
import type { Api } from "../connection.ts";
import { type Reader, Writer } from "./bytes.ts";
import type { ProducerIdentity } from "./record_batch.ts";

/** The API key and version this codec speaks. */
export const INIT_PRODUCER_ID: Api = { key: 22, version: 1 };

/** The request body: no transactional id. */
export function encodeInitProducerIdRequest(transactionTimeoutMs = 60_000): Uint8Array {
  return new Writer(16).string(null).int32(transactionTimeoutMs).result();
}

/** Decodes a response: the error code and, when it is 0, the identity. */
export function decodeInitProducerIdResponse(r: Reader): { error: number; identity: ProducerIdentity } {
  r.int32(); // throttle
  const error = r.int16();
  return { error, identity: { producerId: r.int64(), producerEpoch: r.int16() } };
}
