/**
 * Window I/O without services: a fake store, an injected clock. Loads and
 * writes take turns, and the live write, which runs beside batches, never
 * takes a window from under a batch between its load and its fold.
 */
import assert from "node:assert/strict";
import { createLogger } from "@iot/shared";
import { createProcessorMetrics } from "./metrics.ts";
import { StageTimer } from "./stage_timer.ts";
import type { Valid } from "./stages/decode.ts";
import { T, testValid } from "./stages/testing.ts";
import { Watermarks } from "./stages/watermark.ts";
import { type LoadedWindow, type OpenWindow, WindowState } from "./stages/window_state.ts";
import { WindowIo, type WindowStore } from "./window_io.ts";

const SIZES = [10_000];

/** A store whose loads wait for `release()`; it records what was written. */
class FakeStore implements WindowStore {
  docs = new Map<string, LoadedWindow>();
  written: string[][] = [];
  #gate = Promise.resolve();
  #open = () => {};

  hold(): void {
    this.#gate = new Promise((r) => (this.#open = r));
  }

  release(): void {
    this.#open();
  }

  async load(ids: readonly string[]): Promise<LoadedWindow[]> {
    await this.#gate;
    return ids.flatMap((id) => this.docs.get(id) ?? []);
  }

  write(dirty: readonly OpenWindow[]): ReturnType<WindowStore["write"]> {
    this.written.push(dirty.map((w) => w.key.id));
    return Promise.resolve(new Map());
  }
}

function setup(now = T + 120_000) {
  const state = new WindowState(SIZES);
  const marks = new Watermarks({ allowedLatenessMs: 0, idleMs: 10_000 });
  marks.assign([0], now);
  const store = new FakeStore();
  const io = new WindowIo({
    state,
    marks,
    now: () => now,
    owns: () => true,
    stages: new StageTimer(createProcessorMetrics().stageSeconds),
    log: createLogger({ name: "test", level: "error" }),
  });
  return { state, marks, store, io, now };
}

const reading = (offset: number): Valid => testValid("sensor_0001", offset);

Deno.test("a live write between a batch's window load and its fold leaves the batch's windows in memory", async () => {
  const { state, marks, store, io, now } = setup();
  // The partition's watermark is far ahead (e.g. after an outage, the idle fallback): [T, T+10 s) is closing.
  marks.observe(0, T + 60_000, now);
  const r = reading(5);
  store.hold();
  const loading = io.load(store, 0, [r]);
  const live = io.startLive(store); // the timer starts it while the load waits for MongoDB
  store.release();
  await loading;
  await live; // it found nothing dirty and closed the window the batch just opened
  state.fold(0, [r]);
  assert.deepEqual(state.need(0, [r]), [], "every window of the reading is still in memory, loaded");
  await io.write(store);
  assert.equal(store.written.at(-1)?.length, 2, "the full flush writes both windows of the reading");
});

Deno.test("loads and writes take turns: a write waits for the load in progress", async () => {
  const { store, io } = setup();
  const r = reading(5);
  store.hold();
  const order: string[] = [];
  const loading = io.load(store, 0, [r]).then(() => order.push("load"));
  const writing = io.write(store).then(() => order.push("write"));
  store.release();
  await Promise.all([loading, writing]);
  assert.deepEqual(order, ["load", "write"]);
});

Deno.test("one live write at a time", async () => {
  const { store, io } = setup();
  const first = io.startLive(store);
  assert.ok(first);
  assert.equal(io.startLive(store), undefined);
  assert.equal(io.liveInProgress, true);
  await first;
  assert.equal(io.liveInProgress, false);
  assert.ok(io.startLive(store));
});
