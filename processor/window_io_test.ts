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
import { SENSOR_CHUNK, WindowIo, type WindowStore } from "./window_io.ts";

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

  /** Called at each write, before it resolves. */
  onWrite: (dirty: readonly OpenWindow[]) => void | Promise<void> = () => {};

  async write(dirty: readonly OpenWindow[]): ReturnType<WindowStore["write"]> {
    this.written.push(dirty.map((w) => w.key.id));
    await this.onWrite(dirty);
    return new Map();
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
  const before = store.written.length;
  assert.equal(await io.write(store), true);
  assert.equal(store.written.slice(before).flat().length, 2, "the full flush writes both windows of the reading");
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

/** Readings of `n` sensors at one location (one type × location window, `n` sensor windows). */
function fleet(n: number, offset = 0): Valid[] {
  return Array.from(
    { length: n },
    (_, i) => testValid(`sensor_${String(i).padStart(4, "0")}`, offset + i, 1, "sensor_0001"),
  );
}

Deno.test("a full write takes the per-sensor windows in chunks, and live writes and loads go in between", async () => {
  const { state, store, io } = setup();
  const batch = fleet(2 * SENSOR_CHUNK + 10);
  await io.load(store, 0, batch);
  state.fold(0, batch);
  const between: string[] = [];
  let chunk = 0;
  store.onWrite = async (dirty) => {
    if (dirty[0]?.key.kind !== "sensor" || chunk++ > 0) return;
    // During the first chunk: a live write and a batch's load queue up behind it.
    const r = testValid("sensor_9999", 10_000, 1, "sensor_0001");
    void io.load(store, 0, [r]).then(() => between.push("load"));
    void io.startLive(store)?.then(() => between.push("live"));
    await Promise.resolve();
  };
  const kinds = () => store.written.map((ids) => ids.length);
  assert.equal(await io.write(store), true);
  assert.deepEqual(kinds(), [1, SENSOR_CHUNK, 0, SENSOR_CHUNK, 10], "type × location, chunk, live, chunk, chunk");
  assert.deepEqual(between, ["load", "live"], "both ran before the second chunk");
  assert.equal(store.written.at(2)?.length, 0, "the live write found its window already written");
});

Deno.test("an ownership change cuts a full write short: false, and what was not written stays dirty", async () => {
  const { state, store, io } = setup();
  const batch = fleet(SENSOR_CHUNK + 5);
  await io.load(store, 0, batch);
  state.fold(0, batch);
  let sensorWrites = 0;
  store.onWrite = (dirty) => {
    if (dirty[0]?.key.kind === "sensor" && sensorWrites++ === 0) state.soleWriter = !state.soleWriter; // a new epoch
  };
  assert.equal(await io.write(store), false);
  assert.equal(sensorWrites, 1, "no chunk after the change");
  const rest = state.collect(-Infinity, "sensor").dirty;
  assert.equal(rest.length, 5, "the windows of the chunks not written are still dirty");
  assert.equal(await io.write(store), true);
  assert.equal(store.written.at(-1)?.length, 5);
});

Deno.test("a window revoked between chunks is not written from what is left of it", async () => {
  const { state, store, io } = setup();
  const batch = fleet(SENSOR_CHUNK + 5);
  await io.load(store, 0, batch);
  state.fold(0, batch);
  store.onWrite = (dirty) => {
    if (dirty[0]?.key.kind === "sensor" && dirty.length === SENSOR_CHUNK) state.revoke([0]);
  };
  // The revoke also changes the epoch: the rest is not written, and nothing of partition 0 is left to write.
  assert.equal(await io.write(store), false);
  assert.equal(state.size, 0);
  assert.equal(store.written.flat().length, 1 + SENSOR_CHUNK);
});

Deno.test("a per-sensor window's load does not wait for a write in progress; a shared window's does", async () => {
  const { state, store, io } = setup();
  const first = fleet(3);
  await io.load(store, 0, first);
  state.fold(0, first);
  const release = Promise.withResolvers<void>();
  store.onWrite = () => release.promise; // the full write's first write hangs
  const writing = io.write(store);
  await Promise.resolve();
  const loaded: string[] = [];
  // A new sensor of a location already in memory: only its sensor window is loaded.
  await io.load(store, 0, [testValid("sensor_0100", 50, 1, "sensor_0001")]);
  loaded.push("sensor");
  // A reading of another location needs a new shared window: that load waits for the write.
  const other = testValid("sensor_0200", 60, 1, "sensor_0007");
  assert.notEqual(other.reading.location, first[0].reading.location);
  const shared = io.load(store, 0, [other]).then(() => loaded.push("shared"));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(loaded, ["sensor"], "the shared load is still waiting");
  release.resolve();
  await Promise.all([writing, shared]);
  assert.deepEqual(loaded, ["sensor", "shared"]);
});
