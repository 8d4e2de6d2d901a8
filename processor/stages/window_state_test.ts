import assert from "node:assert/strict";
import type { Valid } from "./decode.ts";
import { T, testValid } from "./testing.ts";
import { WindowState } from "./window_state.ts";

const owned = () => true;
const valid = (sensor: string, offset: number) => testValid(sensor, offset);

function fed(state: WindowState, partition: number, readings: Valid[]): void {
  const ids = state.need(partition, readings);
  state.applyLoaded(partition, ids, [], { owned, epoch: state.epoch });
  state.fold(partition, readings);
}

Deno.test("collect(kind) takes only that kind; a window changed during its write stays dirty and open", () => {
  const state = new WindowState([10_000]);
  state.soleWriter = true;
  fed(state, 0, [valid("sensor_0001", 0), valid("sensor_0001", 1)]);
  const live = state.collect(0, "type_location");
  assert.deepEqual(live.dirty.map((w) => w.key.kind), ["type_location"]);
  // A batch folded while the live write is in flight.
  state.fold(0, [valid("sensor_0001", 2)]);
  state.written(live, new Map());
  const next = state.collect(0);
  assert.deepEqual(next.dirty.map((w) => w.key.kind).sort(), ["sensor", "type_location"], "the change is not lost");
  state.written(next, new Map());
  assert.deepEqual(state.collect(0).dirty, []);

  // Closing: the watermark passed the window; a fold during the write keeps it in memory.
  const closing = state.collect(T + 10_000, "type_location");
  assert.equal(closing.closing.length, 1);
  state.fold(0, [valid("sensor_0001", 3)]);
  state.written(closing, new Map());
  assert.equal(state.size, 2, "changed during its write: kept");
  const again = state.collect(T + 10_000);
  state.written(again, new Map());
  assert.equal(state.size, 0, "written unchanged: dropped");
});

Deno.test("stored documents are kept only as sole writer and within one ownership epoch", () => {
  const state = new WindowState([10_000]);
  const readings = [valid("sensor_0001", 0)];
  const ids = state.need(0, readings);
  const shared = ids.find((id) => id.startsWith("type_location"))!;
  state.applyLoaded(0, ids, [], { owned, epoch: state.epoch });
  assert.equal(state.get(shared)!.stored, undefined, "not the sole writer: nothing known");

  state.soleWriter = true;
  const before = state.epoch;
  state.gain([1]); // an ownership change while a read was in flight
  state.applyLoaded(0, ids, [], { owned, epoch: before });
  assert.equal(state.get(shared)!.stored, undefined, "a read from before the change is not trusted");
  state.applyLoaded(0, ids, [{ _id: shared, v: 4, parts: {} }], { owned, epoch: state.epoch });
  assert.deepEqual(state.get(shared)!.stored, { v: 4, parts: new Map() });
  assert.equal(state.get(ids.find((id) => id.startsWith("sensor"))!)!.stored, undefined, "sensor windows: never");

  state.fold(0, readings);
  const flush = state.collect(0);
  state.gain([2]);
  state.written(flush, new Map([[shared, { v: 5, parts: new Map() }]]));
  assert.equal(state.get(shared)!.stored, undefined, "ownership changed during the write: forgotten");
});

Deno.test("a write that closes windows between a batch's need and its fold keeps the batch's windows", () => {
  const state = new WindowState([10_000]);
  const r = valid("sensor_0001", 5);
  const ids = state.need(0, [r]);
  state.applyLoaded(0, ids, [], { owned, epoch: state.epoch });
  // The live write runs here: the watermark is past the window, nothing is dirty, the window looks unused.
  const live = state.collect(T + 60_000, "type_location");
  state.written(live, new Map());
  state.fold(0, [r]);
  assert.equal(state.size, 2);
  // Once folded, a write after the watermark forgets them as usual.
  state.written(state.collect(T + 60_000), new Map());
  assert.equal(state.size, 0);
});
