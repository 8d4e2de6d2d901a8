/** Produce v7 (API key 0): encoded record batches for partitions of one topic, and the per-partition results. */
import type { Api } from "../connection.ts";
import { type Reader, Writer } from "./bytes.ts";

/** The API key and version this codec speaks. */
export const PRODUCE: Api = { key: 0, version: 7 };

/** What a Produce request carries. */
export interface ProduceRequest {
  /** -1 (all), 1 or 0. */
  acks: -1 | 0 | 1;
  /** Broker-side wait for the acknowledgements, ms. */
  timeoutMs: number;
  topic: string;
  /** One encoded v2 record batch per partition. */
  batches: readonly { partition: number; bytes: Uint8Array }[];
}

/** One partition's result in a Produce response. */
export interface ProducePartitionResult {
  topic: string | null;
  partition: number;
  error: number;
  baseOffset: bigint;
}

/** Encodes a request body. */
export function encodeProduceRequest(req: ProduceRequest): Uint8Array {
  let size = 64 + req.topic.length;
  for (const b of req.batches) size += 8 + b.bytes.length;
  const w = new Writer(size);
  w.int16(-1); // transactional id: null
  w.int16(req.acks);
  w.int32(req.timeoutMs);
  w.int32(1);
  w.string(req.topic);
  w.int32(req.batches.length);
  for (const b of req.batches) {
    w.int32(b.partition);
    w.int32(b.bytes.length);
    w.bytes(b.bytes);
  }
  return w.result();
}

/** Decodes a response (the reader positioned after the response header) into per-partition results. */
export function decodeProduceResponse(r: Reader): ProducePartitionResult[] {
  const out: ProducePartitionResult[] = [];
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => {
      const p = { index: r.int32(), error: r.int16(), baseOffset: r.int64() };
      r.int64(); // log append time
      r.int64(); // log start offset
      return p;
    }),
  }));
  for (const t of topics) {
    for (const p of t.partitions) {
      out.push({ topic: t.name, partition: p.index, error: p.error, baseOffset: p.baseOffset });
    }
  }
  return out;
}
