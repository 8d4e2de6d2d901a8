/**
 * The windows sink: loads this partition's stored parts of windows and writes
 * changed parts to `windowed_metrics` (see the exactness design in
 * `../stages/windows.ts`). Sensor windows have one writer, so their totals go
 * in the same write. Shared windows whose stored document this instance knows
 * (it owns every partition: `OpenWindow.stored`) likewise: one write sets the
 * parts, the totals of every part and the version. Other shared windows get
 * their totals recomputed from the stored parts until the version is stable.
 * Every write filters on `_id` only (the stand-in scans the whole collection
 * for any other filter).
 */
import type { AnyBulkWriteOperation, Collection } from "mongodb";
import { isOnlyDuplicateKeys, type Logger } from "@iot/shared";
import { chunks, parallel } from "../concurrency.ts";
import type { LoadedWindow, OpenWindow, StoredWindow } from "../stages/window_state.ts";
import {
  loadedParts,
  partKey,
  storablePart,
  type StoredWindowDoc,
  windowIdentity,
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
        () => this.col.find({ _id: { $in: c } }, { projection: { parts: 1, v: 1 } }).toArray(),
        heartbeat,
      );
      out.push(...docs);
    }
    return out;
  }

  /**
   * Writes the dirty parts of `dirty` windows and settles the totals of shared
   * ones. Returns the stored documents of the shared windows it knows exactly
   * afterwards (written as sole writer, or read back settled).
   */
  async write(
    dirty: readonly OpenWindow[],
    now: Date,
    heartbeat?: () => Promise<void>,
  ): Promise<Map<string, StoredWindow>> {
    const stored = new Map<string, StoredWindow>();
    if (dirty.length === 0) return stored;
    const direct: AnyBulkWriteOperation<StoredWindowDoc>[] = [];
    const settling: OpenWindow[] = [];
    for (const w of dirty) {
      if (w.key.kind === "sensor") direct.push(sensorUpdate(w, now));
      else if (w.stored) {
        const { op, doc } = soleUpdate(w, w.stored, now);
        direct.push(op);
        stored.set(w.key.id, doc);
      } else settling.push(w);
    }
    const step1 = settling.map((w) => sharedUpdate(w, now));
    await parallel(
      chunks([...direct, ...step1], 1000).map((c) => () =>
        this.retry("Window write", async () => {
          try {
            await this.col.bulkWrite(c, { ordered: false });
          } catch (e) {
            if (!isOnlyDuplicateKeys(e)) throw e;
            // A concurrent first insert of the same window by another instance: write again as update.
            await this.col.bulkWrite(c, { ordered: false });
          }
        }, heartbeat)
      ),
      this.concurrency,
    );
    for (const c of chunks(settling.map((w) => w.key.id), 1000)) {
      const settled = await this.retry("Window totals", () => this.#settleTotals(c, now), heartbeat);
      for (const [id, doc] of settled) stored.set(id, doc);
    }
    return stored;
  }

  /**
   * Recomputes the totals of shared windows from their stored parts until each
   * document's `totals_v` equals its version `v` (no part changed since the
   * totals were computed). Returns the documents as read once settled.
   */
  async #settleTotals(ids: string[], now: Date): Promise<Map<string, StoredWindow>> {
    const settled = new Map<string, StoredWindow>();
    let pending = ids;
    for (let round = 0; round < 5 && pending.length; round++) {
      const docs = await this.col.find({ _id: { $in: pending } }, { projection: { parts: 1, v: 1, totals_v: 1 } })
        .toArray() as (StoredWindowDoc & { totals_v?: number })[];
      const stale = docs.filter((d) => d.totals_v !== d.v);
      for (const d of docs) if (d.totals_v === d.v) settled.set(d._id, { v: d.v, parts: loadedParts(d.parts) });
      if (stale.length === 0) return settled;
      const ops: AnyBulkWriteOperation<StoredWindowDoc>[] = stale.map((d) => ({
        updateOne: {
          filter: { _id: d._id },
          update: { $set: { ...windowTotals([...loadedParts(d.parts).values()], now), totals_v: d.v } } as never,
        },
      }));
      await this.col.bulkWrite(ops, { ordered: false });
      pending = stale.map((d) => d._id);
    }
    if (pending.length) this.log.warn("Window totals still changing after 5 rounds", { windows: pending.length });
    return settled;
  }
}

/** `$set` of a window's dirty parts. */
function partsSet(w: OpenWindow): Record<string, unknown> {
  const set: Record<string, unknown> = {};
  for (const p of w.dirty) set[`parts.${partKey(p)}`] = storablePart(w.parts.get(p)!);
  return set;
}

/**
 * An upsert by `_id`; the window's identity (which never changes) is set only when the document is
 * created: every field less in an update is less work for the server (the stand-in walks each path).
 */
function upsert(w: OpenWindow, update: Record<string, unknown>): AnyBulkWriteOperation<StoredWindowDoc> {
  const onInsert = { ...windowIdentity(w.key), ...(update.$setOnInsert as Record<string, unknown> | undefined) };
  const u = { ...update, $setOnInsert: onInsert };
  return { updateOne: { filter: { _id: w.key.id }, update: u as never, upsert: true } };
}

/** A sensor window (one writer): parts and totals in one update. */
function sensorUpdate(w: OpenWindow, now: Date): AnyBulkWriteOperation<StoredWindowDoc> {
  const totals = windowTotals([...w.parts.values(), ...w.foreign.values()], now);
  return upsert(w, { $set: { ...partsSet(w), ...totals }, $inc: { v: 1 } });
}

/** A shared window whose totals are settled after the write (step 1 of the exactness design). */
function sharedUpdate(w: OpenWindow, now: Date): AnyBulkWriteOperation<StoredWindowDoc> {
  const totals = windowTotals([...w.parts.values(), ...w.foreign.values()], now);
  return upsert(w, { $set: partsSet(w), $inc: { v: 1 }, $setOnInsert: totals });
}

/**
 * A shared window written by its only writer: the stored parts with the dirty
 * ones replaced give the totals, and the version is set (not incremented), so
 * a retried write is idempotent. Returns the document as it will be stored.
 */
function soleUpdate(
  w: OpenWindow,
  known: StoredWindow,
  now: Date,
): { op: AnyBulkWriteOperation<StoredWindowDoc>; doc: StoredWindow } {
  const parts = new Map(known.parts);
  for (const p of w.dirty) parts.set(p, { ...w.parts.get(p)! });
  const v = (known.v ?? 0) + 1;
  const totals = windowTotals([...parts.values()], now);
  return { op: upsert(w, { $set: { ...partsSet(w), ...totals, v, totals_v: v } }), doc: { v, parts } };
}
