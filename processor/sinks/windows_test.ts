/**
 * The windows sink against the MongoDB-protocol server: a sole writer writes a
 * shared window in one update with exact totals; when ownership is split the
 * totals are settled from the stored parts; replays change nothing; and after
 * ownership returns the sole writer is back to one update, still exact.
 */
import assert from "node:assert/strict";
import { type CommandStartedEvent, MongoClient } from "mongodb";
import { COLLECTIONS, createLogger, sensorProfile, windowId } from "@iot/shared";
import { useMongo } from "../../dev/testing.ts";
import type { Valid } from "../stages/decode.ts";
import { T, testValid } from "../stages/testing.ts";
import { WindowState } from "../stages/window_state.ts";
import type { StoredWindowDoc } from "../stages/windows.ts";
import type { Retrier } from "./retrying.ts";
import { WindowSink } from "./windows.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const log = createLogger({ name: "test", level: "error" });
const once: Retrier = (_what, fn) => fn();
const SIZES = [10_000];

/** A reading of `sensor` at offset `offset`: every sensor below shares one type × location. */
const valid = (sensor: string, offset: number, value: number): Valid => testValid(sensor, offset, value, "sensor_0001");

const p = sensorProfile("sensor_0001");
const SHARED = windowId("type_location", `${p.sensorType}/${p.location}`, T, 10_000);

/** One instance: its window state and what it owns. */
class Instance {
  readonly state = new WindowState(SIZES);
  owned = new Set<number>();
  constructor(readonly sink: WindowSink) {}

  async feed(partition: number, readings: Valid[]): Promise<void> {
    const ids = this.state.need(partition, readings);
    const epoch = this.state.epoch;
    if (ids.length) {
      const docs = await this.sink.load(ids);
      this.state.applyLoaded(partition, ids, docs, { owned: (q) => this.owned.has(q), epoch });
    }
    this.state.fold(partition, readings);
  }

  /** Writes the shared windows, as the live flush does. */
  async flushShared(): Promise<void> {
    const flush = this.state.collect(0, "type_location");
    this.state.written(flush, await this.sink.write(flush.dirty, new Date()));
  }
}

Deno.test("shared windows: one update as sole writer, settled when shared, exact throughout", opts, async () => {
  const mongo = await useMongo();
  const client = new MongoClient(mongo.url, { monitorCommands: true });
  const commands: string[] = [];
  client.on("commandStarted", (e: CommandStartedEvent) => {
    if (["update", "find", "insert"].includes(e.commandName)) commands.push(e.commandName);
  });
  try {
    await client.connect();
    const col = client.db(mongo.dbName).collection<StoredWindowDoc>(COLLECTIONS.windows);
    const sink = () => new WindowSink(col, once, log, 1);
    const totals = async () => {
      const d = await col.findOne({ _id: SHARED });
      return d && { count: d.count, sum: d.sum, min: d.min, max: d.max };
    };
    let counted = 0, sum = 0;
    const expect = (readings: Valid[]) => {
      counted += readings.length;
      sum += readings.reduce((s, r) => s + r.reading.value, 0);
    };
    const round = async (what: string, run: () => Promise<void>): Promise<string[]> => {
      commands.length = 0;
      await run();
      const sent = [...commands];
      const t = await totals();
      assert.equal(t?.count, counted, `${what}: count`);
      assert.equal(t?.sum, sum, `${what}: sum`);
      return sent;
    };

    // A owns both partitions: the sole writer.
    const a = new Instance(sink());
    a.owned = new Set([0, 1]);
    a.state.soleWriter = true;
    const a0 = [valid("sensor_0001", 0, 10), valid("sensor_0001", 1, 12)];
    const a1 = [valid("sensor_0007", 0, 20)];
    await a.feed(0, a0);
    await a.feed(1, a1);
    expect([...a0, ...a1]);
    assert.deepEqual(await round("first write", () => a.flushShared()), ["update"], "one update, nothing read back");
    const more = [valid("sensor_0001", 2, 14)];
    await a.feed(0, more);
    expect(more);
    assert.deepEqual(await round("second write", () => a.flushShared()), ["update"]);
    assert.equal((await col.findOne({ _id: SHARED }))?.v, 2);

    // A replay of folded offsets counts nothing and writes nothing.
    await a.feed(0, [valid("sensor_0001", 1, 99)]);
    assert.deepEqual(await round("replay", () => a.flushShared()), []);

    // B takes partition 1: neither is the sole writer, totals are settled from the stored parts.
    const b = new Instance(sink());
    a.owned = new Set([0]);
    a.state.revoke([1]);
    a.state.soleWriter = false;
    b.owned = new Set([1]);
    const b1 = [valid("sensor_0007", 1, 30), valid("sensor_0007", 0, 77)]; // offset 0 was counted by A
    await b.feed(1, b1);
    expect(b1.slice(0, 1));
    const shared = await round("B's write", () => b.flushShared());
    assert.ok(shared.filter((c) => c === "find").length >= 1, `totals read back: ${shared}`);
    const a2 = [valid("sensor_0001", 3, 8)];
    await a.feed(0, a2);
    expect(a2);
    await round("A's write while shared", () => a.flushShared());
    assert.deepEqual(await totals(), { count: counted, sum, min: 8, max: 30 });

    // B leaves; A owns everything again. The first write settles (what A knew is forgotten), then one update.
    a.owned = new Set([0, 1]);
    a.state.gain([1]);
    a.state.soleWriter = true;
    const a3 = [valid("sensor_0001", 4, 9)];
    await a.feed(0, a3);
    expect(a3);
    const first = await round("A's first write as sole writer again", () => a.flushShared());
    assert.ok(first.includes("find"), `settled once: ${first}`);
    const a4 = [valid("sensor_0007", 2, 40)];
    await a.feed(1, a4); // loads partition 1's part (B wrote it)
    expect(a4);
    assert.deepEqual(await round("A as sole writer", () => a.flushShared()), ["update"]);
    assert.deepEqual(await totals(), { count: counted, sum, min: 8, max: 40 });
  } finally {
    await client.close(true).catch(() => {});
    await mongo.close();
  }
});
