/** The unit the native client sends and retries: one partition's record batch of one send. */
import type { RecordHeader } from "./protocol/record_batch.ts";

/** A record as the batch keeps it, to be re-encoded when the batch is split. */
export interface BatchRecord {
  key: Uint8Array | null;
  value: string | Uint8Array | null;
  headers?: readonly RecordHeader[];
}

/** One partition's batch of one send. */
export interface PartitionBatch {
  partition: number;
  /** The encoded v2 record batch; its producer id and sequence are patched in when first sent. */
  bytes: Uint8Array;
  /** Records in the batch. */
  count: number;
  /** First sequence number (-1 until assigned, and when not idempotent). */
  baseSequence: number;
  /** Producer id generation the sequence belongs to (-1: unassigned). */
  generation: number;
  /** Creation order (all partitions): within a partition, batches reach the broker in this order. */
  order: number;
  /** How often the batch's records were split in halves (a split's halves keep the order between them). */
  splits: number;
  /** The records, kept to split the batch when the broker finds it too large. */
  records: BatchRecord[];
  /** Record timestamp (create time), epoch ms. */
  timestamp: number;
  /** When the batch was handed to the client (monotonic ms): the delivery timeout counts from it. */
  createdAt: number;
  /** Failed attempts so far. */
  attempts: number;
  /** Reports the outcome of the batch's records, once (or of each half, once split). */
  settle: (count: number, ok: boolean, error?: Error) => void;
}
