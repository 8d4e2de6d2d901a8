/**
 * The window stage: windows held in memory, per source partition, between
 * flushes. Which windows a batch needs loaded, folding readings into this
 * partition's parts, closing windows behind the watermark, and forgetting
 * revoked partitions. Pure: the sink loads and writes (see `windows.ts` for
 * the exactness design this follows).
 *
 * While this instance owns every partition of the topic (`soleWriter`), it
 * alone writes every part, so it knows each shared window's stored document
 * exactly (`OpenWindow.stored`: read once, then kept up to date by its own
 * writes) and can write the totals in the same update as the parts. Any
 * ownership change forgets what it knew (`epoch`); a read issued before the
 * change is not trusted after it.
 *
 * A write may run while batches are folded (the live flush): each window
 * counts its changes (`gen`), and `written` leaves a window that changed
 * during its write dirty (and open), so the next write takes the change. The
 * caller keeps loads and writes of windows from overlapping one another. A
 * write may also complete between a batch's `need` (and load) and its `fold`:
 * the windows the batch needs are pinned until it folds, so `written` does not
 * forget one that the watermark closed (its loaded part would be lost, and the
 * fold would find no window).
 */
import type { WindowKind } from "@iot/shared";
import type { Valid } from "./decode.ts";
import { assignWindows, emptyPart, foldValue, loadedParts, type WindowKey, type WindowPart } from "./windows.ts";

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
  /** Shared windows while this instance is their only writer: the document as stored. */
  stored?: StoredWindow;
  /** Counts the changes of the window's parts (a write knows whether it wrote the latest). */
  gen: number;
}

/** A shared window's document as stored: its version `v` (null: no document yet) and every part. */
export interface StoredWindow {
  v: number | null;
  parts: Map<number, WindowPart>;
}

/** Where a load was issued: which partitions are owned, and the `epoch` when the read started. */
export interface LoadContext {
  owned: (p: number) => boolean;
  epoch: number;
}

/** A window document as read back for its parts. */
export interface LoadedWindow {
  _id: string;
  parts?: Record<string, Partial<WindowPart>>;
  v?: number;
}

/** The windows to write at a flush. */
export interface WindowFlush {
  /** Windows with changed parts. */
  dirty: OpenWindow[];
  /** Windows the watermark closed: dropped from memory once written. */
  closing: OpenWindow[];
  /** `gen` of each window collected, when collected. */
  gens: Map<OpenWindow, number>;
  /** The ownership epoch when collected (see `WindowState.epoch`). */
  epoch: number;
}

/** Windows in memory, by `_id`. */
export class WindowState {
  readonly #windows = new Map<string, OpenWindow>();
  #epoch = 0;
  #soleWriter = false;
  /** The windows of the batch between `need` and `fold` (one batch at a time): kept by `written`. */
  #pinned = new Set<OpenWindow>();

  constructor(readonly sizesMs: readonly number[]) {}

  /** Bumped by every ownership change: stored documents read before it are no longer trusted. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Whether this instance owns every partition of the topic (then it alone writes shared windows). */
  get soleWriter(): boolean {
    return this.#soleWriter;
  }

  set soleWriter(sole: boolean) {
    if (sole === this.#soleWriter) return;
    this.#soleWriter = sole;
    this.#ownershipChanged();
  }

  #ownershipChanged(): void {
    this.#epoch++;
    for (const w of this.#windows.values()) w.stored = undefined;
  }

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
   * `_id`s whose part of `partition` must be loaded before folding. They stay
   * in memory until the batch is folded (the next `fold` or `need`).
   */
  need(partition: number, valid: readonly Valid[]): string[] {
    const need = new Set<string>();
    this.#pinned = new Set();
    for (const v of valid) {
      if (v.late) continue;
      for (const key of assignWindows(v.reading, v.eventTime, this.sizesMs)) {
        let w = this.#windows.get(key.id);
        if (!w) {
          w = { key, parts: new Map(), foreign: new Map(), loaded: new Set(), dirty: new Set(), gen: 0 };
          this.#windows.set(key.id, w);
        }
        this.#pinned.add(w);
        if (!w.loaded.has(partition)) need.add(key.id);
      }
    }
    return [...need];
  }

  /**
   * Takes the stored parts of windows loaded for `partition`: ours (kept unless
   * already in memory) and those of partitions `owned` says are elsewhere. As
   * sole writer, also the stored document of shared windows, if the read was
   * issued in the current `epoch`.
   */
  applyLoaded(partition: number, ids: readonly string[], docs: readonly LoadedWindow[], from: LoadContext): void {
    const trusted = this.#soleWriter && from.epoch === this.#epoch;
    const found = new Set<string>();
    for (const d of docs) {
      const w = this.#windows.get(d._id);
      if (!w) continue;
      found.add(d._id);
      const stored = loadedParts(d.parts);
      for (const [p, part] of stored) {
        if (p === partition) {
          if (!w.parts.has(p)) w.parts.set(p, { ...part });
        } else if (!from.owned(p)) w.foreign.set(p, part);
      }
      if (trusted && w.key.kind !== "sensor") {
        w.stored = typeof d.v === "number" ? { v: d.v, parts: stored } : undefined;
      }
    }
    for (const id of ids) {
      const w = this.#windows.get(id);
      if (!w) continue;
      w.loaded.add(partition);
      if (trusted && w.key.kind !== "sensor" && !found.has(id)) w.stored = { v: null, parts: new Map() };
    }
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
        if (foldValue(part, v.reading.value, v.eventTime, v.offset, anomaly)) {
          w.dirty.add(partition);
          w.gen++;
        }
      }
    }
    this.#pinned.clear();
  }

  /**
   * Marks the windows that end at or before `watermark` final; returns what to
   * write: every window, or only those of kind `only`.
   */
  collect(watermark: number, only?: WindowKind): WindowFlush {
    const closing: OpenWindow[] = [];
    const dirty: OpenWindow[] = [];
    const gens = new Map<OpenWindow, number>();
    for (const w of this.#windows.values()) {
      if (only !== undefined && w.key.kind !== only) continue;
      if (w.key.start + w.key.sizeMs <= watermark) {
        closing.push(w);
        for (const [p, part] of w.parts) {
          if (!part.final) {
            part.final = true;
            w.dirty.add(p);
            w.gen++;
          }
        }
      }
      if (w.dirty.size > 0) dirty.push(w);
      gens.set(w, w.gen);
    }
    return { dirty, closing, gens, epoch: this.#epoch };
  }

  /**
   * After a successful write: the written windows are clean and the closed
   * ones forgotten, unless they changed since `collect` or a batch needs them
   * (between its `need` and its `fold`). `stored`: the
   * documents as the write left them (shared windows written as sole writer,
   * or read back), kept if ownership did not change.
   */
  written(flush: WindowFlush, stored: ReadonlyMap<string, StoredWindow> = new Map()): void {
    const trusted = this.#soleWriter && flush.epoch === this.#epoch;
    const unchanged = (w: OpenWindow) => w.gen === flush.gens.get(w);
    for (const w of flush.dirty) {
      if (unchanged(w)) w.dirty.clear();
      if (w.key.kind !== "sensor") w.stored = trusted ? stored.get(w.key.id) : undefined;
    }
    for (const w of flush.closing) {
      if (unchanged(w) && !this.#pinned.has(w) && this.#windows.get(w.key.id) === w) this.#windows.delete(w.key.id);
    }
  }

  /** Drops the unflushed state of revoked partitions (the new owner re-reads from the committed offset). */
  revoke(partitions: readonly number[]): void {
    if (partitions.length === 0) return;
    this.#ownershipChanged();
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
    if (partitions.length) this.#ownershipChanged();
    for (const w of this.#windows.values()) for (const p of partitions) w.foreign.delete(p);
  }
}
