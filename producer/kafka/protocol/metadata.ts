/** Metadata v5 (API key 3): the brokers of the cluster and the partitions and leaders of one topic. */
import type { Api } from "../connection.ts";
import { type Reader, Writer } from "./bytes.ts";

/** The API key and version this codec speaks. */
export const METADATA: Api = { key: 3, version: 5 };

/** One partition in a metadata response. */
export interface PartitionMetadata {
  error: number;
  index: number;
  /** Node id of the leader, -1 when there is none. */
  leader: number;
}

/** One topic in a metadata response. */
export interface TopicMetadata {
  error: number;
  name: string | null;
  internal: boolean;
  partitions: PartitionMetadata[];
}

/** A decoded metadata response. */
export interface MetadataResponse {
  brokers: Map<number, { host: string; port: number }>;
  controller: number;
  topics: TopicMetadata[];
}

/** The request body: metadata of `topic`, without creating it. */
export function encodeMetadataRequest(topic: string): Uint8Array {
  return new Writer(64).int32(1).string(topic).int8(0).result();
}

/** Decodes a response (the reader positioned after the response header). */
export function decodeMetadataResponse(r: Reader): MetadataResponse {
  r.int32(); // throttle
  const brokers = new Map<number, { host: string; port: number }>();
  for (const b of r.array((r) => ({ id: r.int32(), host: r.string()!, port: r.int32(), rack: r.string() }))) {
    brokers.set(b.id, { host: b.host, port: b.port });
  }
  r.string(); // cluster id
  const controller = r.int32();
  const topics = r.array((r) => ({
    error: r.int16(),
    name: r.string(),
    internal: r.bool(),
    partitions: r.array((r) => {
      const p = { error: r.int16(), index: r.int32(), leader: r.int32() };
      r.array((r) => r.int32()); // replicas
      r.array((r) => r.int32()); // in-sync replicas
      r.array((r) => r.int32()); // offline replicas
      return p;
    }),
  }));
  return { brokers, controller, topics };
}
