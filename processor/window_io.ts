/**
 * Window I/O: the window state's loads from, and writes to, `windowed_metrics`,
 * taking turns under one lock (a live write runs beside batches, so a load or
 * a full flush may meet one in progress).
 *
 * - `load` reads this partition's stored parts of the windows a batch needs.
 * - `write` writes the dirty windows (all, or one kind), after any load or
 *   write in progress. All of them (the full flush): the type × location
 *   windows first, then the per-sensor ones (thousands) in chunks of
 *   `SENSOR_CHUNK`, taking turns with the loads and live writes in between, so
 *   that neither a batch's load nor the dashboard's windows wait for the
 *   whole of it.
 * - `startLive` starts the live write of the type × location windows in the
 *   background: one at a time, one attempt; a failure is logged and left to
 *   the next flush.
 */
import type { Logger, WindowKind } from "@iot/shared";
import type { Clock } from "./clock.ts";
import { SerialLock } from "./concurrency.ts";
import type { StageTimer } from "./stage_timer.ts";
import type { Valid } from "./stages/decode.ts";
import type { Watermarks } from "./stages/watermark.ts";
import type { WindowState } from "./stages/window_state.ts";
import type { WindowSink } from "./sinks/windows.ts";

/** Per-sensor windows written per turn of a full write. */
export const SENSOR_CHUNK = 250;

/** What window I/O reads and writes through (a `WindowSink`). */
export type WindowStore = Pick<WindowSink, "load" | "write">;

/** Options of `WindowIo`. */
export interface WindowIoOptions {
  state: WindowState;
  marks: Watermarks;
  now: Clock;
  /** Whether this instance owns a partition (loaded parts of the others are kept as foreign). */
  owns: (partition: number) => boolean;
  stages: StageTimer;
  log: Logger;
  /** Windows written (after each successful write). */
  onWritten?: (n: number) => void;
  /** Windows held in memory (after each write). */
  onSize?: (n: number) => void;
}

/**
 * Loads and writes the windows of a `WindowState`, one at a time.
 *
 * @example
 * ```ts
 * const io = new WindowIo({ state, marks, now: Date.now, owns: (p) => offsets.owns(p), stages, log });
 * await io.load(sink, partition, valid);  // before folding a batch
 * io.startLive(liveSink);                 // every 100 ms: type × location windows, in the background
 * await io.write(sink);                   // at the full flush: every dirty window
 * ```
 */
export class WindowIo {
  readonly #o: WindowIoOptions;
  readonly #lock = new SerialLock();
  #live?: Promise<void>;

  constructor(options: WindowIoOptions) {
    this.#o = options;
  }

  /** Whether a live write is in progress. */
  get liveInProgress(): boolean {
    return this.#live !== undefined;
  }

  /**
   * Makes sure every window the batch touches is in memory with this partition's stored part. Shared
   * windows load after any write in progress (what this instance knows of their stored document must not
   * go back). Per-sensor windows do not wait: only windows this partition's part is missing from are
   * loaded, so no write of ours can hold their part (a write still in flight from before a revoke is
   * folded again from the committed offset, guarded by the part's offset).
   */
  async load(
    sink: WindowStore,
    partition: number,
    valid: readonly Valid[],
    heartbeat?: () => Promise<void>,
  ): Promise<void> {
    const state = this.#o.state;
    const ids = state.need(partition, valid);
    if (ids.length === 0) return;
    const epoch = state.epoch;
    const sensor = ids.filter((id) => state.get(id)?.key.kind === "sensor");
    const shared = ids.filter((id) => state.get(id)?.key.kind !== "sensor");
    const apply = (part: string[]) => async () => {
      const docs = await sink.load(part, heartbeat);
      state.applyLoaded(partition, part, docs, { owned: this.#o.owns, epoch });
    };
    await Promise.all([
      sensor.length ? apply(sensor)() : undefined,
      shared.length ? this.#lock.run(apply(shared)) : undefined,
    ]);
  }

  /**
   * Writes the dirty windows (only those of kind `only`, when given), after any write or load in progress.
   * Resolves `false` when an ownership change (`WindowState.epoch`) cut a full write short: the windows not
   * written stay dirty, and nothing they hold may be committed yet.
   */
  async write(sink: WindowStore, only?: WindowKind, heartbeat?: () => Promise<void>): Promise<boolean> {
    if (only !== undefined) {
      await this.#lock.run(() => this.#write(sink, only, heartbeat));
      return true;
    }
    await this.#lock.run(() => this.#write(sink, "type_location", heartbeat));
    return await this.#writeSensorWindows(sink, heartbeat);
  }

  /** The per-sensor windows of a full write, `SENSOR_CHUNK` per turn of the lock. */
  async #writeSensorWindows(sink: WindowStore, heartbeat?: () => Promise<void>): Promise<boolean> {
    const { state, marks } = this.#o;
    const now = this.#o.now();
    const flush = await this.#lock.run(() => Promise.resolve(state.collect(marks.global(now), "sensor")));
    const dirty = new Set(flush.dirty);
    // Closed windows that need no write are forgotten with the first chunk; the others with their own.
    const chunks = [];
    for (let i = 0; i < flush.dirty.length || i === 0; i += SENSOR_CHUNK) {
      chunks.push(flush.dirty.slice(i, i + SENSOR_CHUNK));
    }
    for (const [i, chunk] of chunks.entries()) {
      const mine = new Set(chunk);
      const closing = flush.closing.filter((w) => mine.has(w) || (i === 0 && !dirty.has(w)));
      const done = await this.#lock.run(async () => {
        if (state.epoch !== flush.epoch) return false;
        // A window dropped or cleaned since the collect (a revoke) is not written from what is left of it.
        const part = { ...flush, dirty: chunk.filter((w) => w.dirty.size > 0 && state.get(w.key.id) === w), closing };
        const stored = await sink.write(part.dirty, new Date(now), heartbeat);
        state.written(part, stored);
        if (part.dirty.length) this.#o.onWritten?.(part.dirty.length);
        return true;
      });
      if (!done) return false;
    }
    this.#o.onSize?.(state.size);
    return true;
  }

  /**
   * Starts the live write of the type × location windows in the background,
   * unless one is in progress. Returns the write started, if any (it never rejects).
   */
  startLive(sink: WindowStore): Promise<void> | undefined {
    if (this.#live) return undefined;
    const live = this.#o.stages.time("window_write_live", () => this.write(sink, "type_location"))
      .then(() => {}, (e) => this.#o.log.debug("Live window write failed (the next flush writes them)", { error: e }))
      .finally(() => (this.#live = undefined));
    this.#live = live;
    return live;
  }

  async #write(sink: WindowStore, only?: WindowKind, heartbeat?: () => Promise<void>): Promise<void> {
    const { state, marks } = this.#o;
    const now = this.#o.now();
    const flush = state.collect(marks.global(now), only);
    const stored = await sink.write(flush.dirty, new Date(now), heartbeat);
    state.written(flush, stored);
    if (flush.dirty.length) this.#o.onWritten?.(flush.dirty.length);
    this.#o.onSize?.(state.size);
  }
}
