/**
 * The raw-readings sink: idempotent inserts into `sensor_metrics` with
 * `_id` = `readingId` (sensor id and event time). A duplicate key means
 * "already stored" (a replay, or the same reading from another record: a
 * resend); every other error is retried.
 */
import type { Collection } from "mongodb";
import { isOnlyDuplicateKeys, type ReadingDoc, writeErrorsOf } from "@iot/shared";
import { chunks, Semaphore } from "../concurrency.ts";
import type { Valid } from "../stages/decode.ts";
import type { Retrier } from "./retrying.ts";

/** Documents per insert call (the stand-in caps write batches at 1000). */
export const RAW_CHUNK = 1000;

/** The raw document of a valid reading. */
export function readingDoc(v: Valid, ingested: Date): ReadingDoc {
  const r = v.reading;
  const doc: ReadingDoc = {
    _id: v.id,
    sensor_id: r.sensor_id,
    sensor_type: r.sensor_type,
    location: r.location,
    value: r.value,
    timestamp: new Date(v.eventTime),
    ingested_at: ingested,
  };
  // Optional fields only when sent (the driver would store an explicit undefined as null).
  if (r.status !== undefined) doc.status = r.status;
  if (r.seq !== undefined) doc.seq = r.seq;
  if (r.metadata !== undefined) doc.metadata = r.metadata;
  if (r.extra !== undefined) doc.extra = r.extra;
  return doc;
}

/** What a raw write did. */
export interface RawWriteResult {
  /** `_id`s inserted by this call. */
  inserted: Set<string>;
  /** Per reading (in the order given): whether this call stored it (false: its `_id` was already stored). */
  stored: boolean[];
}

/** Writes raw readings, at most `concurrency` insert calls at once. */
export class RawSink {
  readonly #slots: Semaphore;

  constructor(readonly col: Collection<ReadingDoc>, readonly retry: Retrier, concurrency: number) {
    this.#slots = new Semaphore(concurrency);
  }

  /** Stores the readings (unordered inserts of up to 1000); returns which were new. */
  async write(valid: readonly Valid[], now: Date, heartbeat?: () => Promise<void>): Promise<RawWriteResult> {
    const inserted = new Set<string>();
    const stored: boolean[] = new Array(valid.length).fill(false);
    if (valid.length === 0) return { inserted, stored };
    const docs = valid.map((v) => readingDoc(v, now));
    await Promise.all(
      chunks(docs, RAW_CHUNK).map((chunk, c) =>
        this.#slots.run(() =>
          this.retry("Raw reading write", async () => {
            const dup = new Set<number>();
            try {
              await this.col.insertMany(chunk, { ordered: false });
            } catch (e) {
              if (!isOnlyDuplicateKeys(e)) throw e;
              for (const we of writeErrorsOf(e)) dup.add(we.index ?? -1);
            }
            chunk.forEach((d, i) => {
              if (dup.has(i)) return;
              inserted.add(d._id);
              stored[c * RAW_CHUNK + i] = true;
            });
          }, heartbeat)
        )
      ),
    );
    return { inserted, stored };
  }
}
