/**
 * The anomaly-events sink: idempotent inserts into `anomaly_alerts`, one
 * document per anomalous reading with the reading's `_id`. A duplicate key
 * means "already stored" (a replay); every other error is retried.
 */
import type { Collection } from "mongodb";
import { type AnomalyEventDoc, isOnlyDuplicateKeys, writeErrorsOf } from "@iot/shared";
import { chunks } from "../concurrency.ts";
import type { Retrier } from "./retrying.ts";
import { RAW_CHUNK } from "./raw.ts";

/** Writes anomaly events. */
export class EventSink {
  constructor(readonly col: Collection<AnomalyEventDoc>, readonly retry: Retrier) {}

  /** Stores the events (unordered inserts); returns how many were new. */
  async write(events: readonly AnomalyEventDoc[], heartbeat?: () => Promise<void>): Promise<number> {
    let inserted = 0;
    for (const chunk of chunks(events, RAW_CHUNK)) {
      inserted += await this.retry("Anomaly event write", async () => {
        try {
          return (await this.col.insertMany(chunk, { ordered: false })).insertedCount;
        } catch (e) {
          if (!isOnlyDuplicateKeys(e)) throw e;
          return chunk.length - writeErrorsOf(e).length;
        }
      }, heartbeat);
    }
    return inserted;
  }
}
