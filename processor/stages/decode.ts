/**
 * The decode stage: a fetched batch of one partition → valid readings (each
 * judged late or replayed against the partition's watermark) and rejected
 * records with their reason. Pure: no I/O, no clock.
 */
import {
  decodeReading,
  type DecodeResult,
  type ReadingContract,
  type RejectReason,
  type SensorReading,
} from "@iot/shared";
import { judgeBatch, type Watermarks } from "./watermark.ts";

/** A record the processor refused, with where it came from. */
export interface Rejected {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | Uint8Array | null;
  value: Buffer | Uint8Array | null;
  reason: RejectReason;
  detail: string;
}

/** A valid reading of a batch. */
export interface Valid {
  reading: SensorReading;
  eventTime: number;
  offset: number;
  /** Behind the watermark: stored raw and dead-lettered as late, not windowed. */
  late: boolean;
  /** At or below an offset already folded into this partition's windows (fetched again). */
  replay: boolean;
  /** The reading's `_id`: `readingId`, `sensor_id:event_time_ms`. */
  id: string;
}

/** One fetched record (the kafkajs message fields the processor reads). */
export interface FetchedRecord {
  offset: string;
  key: Buffer | Uint8Array | null;
  value: Buffer | Uint8Array | null;
}

/** What the decode stage made of a batch. */
export interface DecodedBatch {
  valid: Valid[];
  /** Invalid and late records, in offset order per kind. */
  rejected: Rejected[];
  /** Invalid records (a subset of `rejected`). */
  invalid: number;
  /** Late readings (also in `valid` and in `rejected`). */
  late: number;
  /** Highest event time of the batch's new records (apply to the watermarks once folded). */
  maxEvent: number;
}

/** Options of `decodeBatch`. */
export interface DecodeBatchInput {
  topic: string;
  partition: number;
  records: readonly FetchedRecord[];
  marks: Watermarks;
  /** Highest offset of the partition already folded into windows (−1: none). */
  foldedUpTo: number;
  /** The reading contract (future limit, described types, clock). */
  contract?: ReadingContract;
}

/**
 * Decodes and validates every record of a batch and judges lateness (see
 * `judgeBatch`: a batch fetched again is judged as the first time).
 */
export function decodeBatch(input: DecodeBatchInput): DecodedBatch {
  const { topic, partition, marks } = input;
  const rejected: Rejected[] = [];
  const reject = (m: FetchedRecord, reason: RejectReason, detail: string) =>
    rejected.push({ topic, partition, offset: m.offset, key: m.key, value: m.value, reason, detail });
  const decoded: { m: FetchedRecord; offset: number; res: Extract<DecodeResult, { ok: true }> }[] = [];
  let invalid = 0;
  for (const m of input.records) {
    const res = decodeReading(m.value, input.contract);
    if (!res.ok) {
      invalid++;
      reject(m, res.reason, res.detail);
      continue;
    }
    decoded.push({ m, offset: Number(m.offset), res });
  }
  const judged = judgeBatch(
    marks,
    partition,
    input.foldedUpTo,
    decoded.map((d) => ({ offset: d.offset, eventTime: d.res.eventTime })),
  );
  const valid: Valid[] = [];
  let late = 0;
  decoded.forEach(({ m, offset, res }, i) => {
    if (judged.late[i]) {
      late++;
      reject(
        m,
        "late",
        `Event time ${res.reading.timestamp} is behind the watermark ${
          new Date(judged.watermark[i]).toISOString()
        } (allowed lateness ${marks.options.allowedLatenessMs} ms)`,
      );
    }
    valid.push({
      reading: res.reading,
      eventTime: res.eventTime,
      offset,
      late: judged.late[i],
      replay: judged.replay[i],
      id: res.id,
    });
  });
  return { valid, rejected, invalid, late, maxEvent: judged.maxEvent };
}
