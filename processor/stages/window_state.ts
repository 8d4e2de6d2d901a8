/**
 * The window stage: windows held in memory, per source partition, between
 * flushes. Which windows a batch needs loaded, folding readings into this
 * partition's parts, closing windows behind the watermark, and forgetting
 * revoked partitions. Pure: the sink loads and writes (see `windows.ts` for
 * the exactness design this follows).
 */
import type { Valid } from "./decode.ts";
import { assignWindows, emptyPart, foldValue, loadedPart, type WindowKey, type WindowPart } from "./windows.ts";

/** One window in memory. */
export interface OpenWindow {
  key: WindowKey;
  parts: Map<number, WindowPart>;
  /** Parts of partitions owned by other instances, as last read (sensor windows: normally none). */
  foreign: Map<number, WindowPart>;
  /** Partitions whose stored part was loaded (once per window per assignment). */
  loaded: Set<number>;
  /** Partitions whose part changed since the last write. */
  dirty: Set<number>;
}

/** A window document as read back for its parts. */
export interface LoadedWindow {
  _id: string;
  parts?: Record<string, Partial<WindowPart>>;
}

/** The windows to write at a flush. */
export interface WindowFlush {
  /** Windows with changed parts. */
  dirty: OpenWindow[];
  /** Windows the watermark closed: dropped from memory once written. */
  closing: string[];
}

/** Windows in memory, by `_id`. */
export class WindowState {
  readonly #windows = new Map<string, OpenWindow>();

  constructor(readonly sizesMs: readonly number[]) {}

  /** Windows held in memory. */
  get size(): number {
    return this.#windows.size;
  }

  /** A window by `_id`. */
  get(id: string): OpenWindow | undefined {
    return this.#windows.get(id);
  }

  /**
   * Opens every window the batch's non-late readings belong to and returns the
   * `_id`s whose part of `partition` must be loaded before folding.
   */
  need(partition: number, valid: readonly Valid[]): string[] {
    const need = new Set<string>();
    for (const v of valid) {
      if (v.late) continue;
      for (const key of assignWindows(v.reading, v.eventTime, this.sizesMs)) {
        let w = this.#windows.get(key.id);
        if (!w) {
          w = { key, parts: new Map(), foreign: new Map(), loaded: new Set(), dirty: new Set() };
          this.#windows.set(key.id, w);
        }
        if (!w.loaded.has(partition)) need.add(key.id);
      }
    }
    return [...need];
  }

  /**
   * Takes the stored parts of windows loaded for `partition`: ours (kept unless
   * already in memory) and those of partitions `owned` says are elsewhere.
   */
  applyLoaded(partition: number, ids: readonly string[], docs: readonly LoadedWindow[], owned: (p: number) => boolean) {
    for (const d of docs) {
      const w = this.#windows.get(d._id);
      if (!w) continue;
      for (const [k, raw] of Object.entries(d.parts ?? {})) {
        const p = Number(k.slice(1));
        const part = loadedPart(raw);
        if (!part) continue;
        if (p === partition) {
          if (!w.parts.has(p)) w.parts.set(p, part);
        } else if (!owned(p)) w.foreign.set(p, part);
      }
    }
    for (const id of ids) this.#windows.get(id)?.loaded.add(partition);
  }

  /** Folds every new, non-late reading into this partition's parts (guarded by the part's offset). */
  fold(partition: number, valid: readonly Valid[]): void {
    for (const v of valid) {
      if (v.late || v.replay) continue;
      const anomaly = v.reading.status === "anomaly";
      for (const key of assignWindows(v.reading, v.eventTime, this.sizesMs)) {
        const w = this.#windows.get(key.id)!;
        let part = w.parts.get(partition);
        if (!part) {
          part = emptyPart();
          w.parts.set(partition, part);
        }
        if (foldValue(part, v.reading.value, v.eventTime, v.offset, anomaly)) w.dirty.add(partition);
      }
    }
  }

  /** Marks the windows that end at or before `watermark` final; returns what to write. */
  collect(watermark: number): WindowFlush {
    const closing: string[] = [];
    for (const [id, w] of this.#windows) {
      if (w.key.start + w.key.sizeMs <= watermark) {
        closing.push(id);
        for (const [p, part] of w.parts) {
          if (!part.final) {
            part.final = true;
            w.dirty.add(p);
          }
        }
      }
    }
    return { dirty: [...this.#windows.values()].filter((w) => w.dirty.size > 0), closing };
  }

  /** After a successful write: the written windows are clean, the closed ones forgotten. */
  written(flush: WindowFlush): void {
    for (const w of flush.dirty) w.dirty.clear();
    for (const id of flush.closing) this.#windows.delete(id);
  }

  /** Drops the unflushed state of revoked partitions (the new owner re-reads from the committed offset). */
  revoke(partitions: readonly number[]): void {
    if (partitions.length === 0) return;
    for (const [id, w] of this.#windows) {
      for (const p of partitions) {
        w.parts.delete(p);
        w.loaded.delete(p);
        w.dirty.delete(p);
      }
      if (w.parts.size === 0) this.#windows.delete(id);
    }
  }

  /** Parts read as another owner's are now ours: they are loaded again as our own before use. */
  gain(partitions: readonly number[]): void {
    for (const w of this.#windows.values()) for (const p of partitions) w.foreign.delete(p);
  }
}
