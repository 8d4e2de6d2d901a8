/**
 * The windows sink: loads this partition's stored parts of windows and writes
 * changed parts to `windowed_metrics` (see the exactness design in
 * `../stages/windows.ts`). Sensor windows have one writer, so their totals go
 * in the same write; shared windows get their totals recomputed from the
 * stored parts until the version is stable.
 */
import type { AnyBulkWriteOperation, Collection } from "mongodb";
import { isOnlyDuplicateKeys, type Logger } from "@iot/shared";
import { chunks, parallel } from "../concurrency.ts";
import type { LoadedWindow, OpenWindow } from "../stages/window_state.ts";
import {
  loadedPart,
  partKey,
  storablePart,
  type StoredWindowDoc,
  windowIdentity,
  type WindowPart,
  windowTotals,
} from "../stages/windows.ts";
import type { Retrier } from "./retrying.ts";

/** Reads and writes window documents. */
export class WindowSink {
  constructor(
    readonly col: Collection<StoredWindowDoc>,
    readonly retry: Retrier,
    readonly log: Logger,
    readonly concurrency: number,
  ) {}

  /** Reads the parts of the windows `ids` (in chunks of 1000). */
  async load(ids: readonly string[], heartbeat?: () => Promise<void>): Promise<LoadedWindow[]> {
    const out: LoadedWindow[] = [];
    for (const c of chunks(ids, 1000)) {
      const docs = await this.retry(
        "Window load",
        () => this.col.find({ _id: { $in: c } }, { projection: { parts: 1 } }).toArray(),
        heartbeat,
      );
      out.push(...docs);
    }
    return out;
  }

  /** Writes the dirty parts of `dirty` windows and settles the totals of shared ones. */
  async write(dirty: readonly OpenWindow[], now: Date, heartbeat?: () => Promise<void>): Promise<void> {
    if (dirty.length === 0) return;
    const col = this.col;
    const step1: AnyBulkWriteOperation<StoredWindowDoc>[] = dirty.map((w) => {
      const set: Record<string, unknown> = { ...windowIdentity(w.key) };
      for (const p of w.dirty) set[`parts.${partKey(p)}`] = storablePart(w.parts.get(p)!);
      const totals = windowTotals([...w.parts.values(), ...w.foreign.values()], now);
      const direct = w.key.kind === "sensor";
      const update = direct
        ? { $set: { ...set, ...totals }, $inc: { v: 1 } }
        : { $set: set, $inc: { v: 1 }, $setOnInsert: totals };
      return { updateOne: { filter: { _id: w.key.id }, update: update as never, upsert: true } };
    });
    await parallel(
      chunks(step1, 1000).map((c) => () =>
        this.retry("Window write", async () => {
          try {
            await col.bulkWrite(c, { ordered: false });
          } catch (e) {
            if (!isOnlyDuplicateKeys(e)) throw e;
            // A concurrent first insert of the same window by another instance: write again as update.
            await col.bulkWrite(c, { ordered: false });
          }
        }, heartbeat)
      ),
      this.concurrency,
    );
    const shared = dirty.filter((w) => w.key.kind !== "sensor").map((w) => w.key.id);
    for (const c of chunks(shared, 1000)) {
      await this.retry("Window totals", () => this.#settleTotals(c, now), heartbeat);
    }
  }

  /**
   * Recomputes the totals of shared windows from their stored parts until each
   * document's `totals_v` equals its version `v` (no part changed since the
   * totals were computed). Filters use `_id` only (fast on every server).
   */
  async #settleTotals(ids: string[], now: Date): Promise<void> {
    let pending = ids;
    for (let round = 0; round < 5 && pending.length; round++) {
      const docs = await this.col.find({ _id: { $in: pending } }, { projection: { parts: 1, v: 1, totals_v: 1 } })
        .toArray() as (StoredWindowDoc & { totals_v?: number })[];
      const stale = docs.filter((d) => d.totals_v !== d.v);
      if (stale.length === 0) return;
      const ops: AnyBulkWriteOperation<StoredWindowDoc>[] = stale.map((d) => ({
        updateOne: {
          filter: { _id: d._id },
          update: {
            $set: {
              ...windowTotals(
                Object.values(d.parts ?? {}).map((p) => loadedPart(p)).filter((p): p is WindowPart => !!p),
                now,
              ),
              totals_v: d.v,
            },
          } as never,
        },
      }));
      await this.col.bulkWrite(ops, { ordered: false });
      pending = stale.map((d) => d._id);
    }
    if (pending.length) this.log.warn("Window totals still changing after 5 rounds", { windows: pending.length });
  }
}
