import assert from "node:assert/strict";
import type { Collection } from "mongodb";
import type { AlertLifecycle, AnyAlertWrite, LifecycleEvent } from "../stages/alert_lifecycle.ts";
import { AlertSink } from "./alerts.ts";
import type { PublishRecord, RecordPublisher } from "./publisher.ts";

type W = AnyAlertWrite;

/** The part of a lifecycle the sink uses: pending writes and events, put back on failure. */
class FakeLifecycle {
  writes: W[] = [];
  events: LifecycleEvent<W>[] = [];
  spec = { labels: (d: W) => ({ sensor_id: String((d as unknown as { sensor_id: string }).sensor_id) }) };
  openCount = 0;
  drain() {
    const out = { writes: this.writes, events: this.events };
    this.writes = [];
    this.events = [];
    return out;
  }
  restore(b: { writes: W[]; events: LifecycleEvent<W>[] }) {
    this.writes = [...b.writes, ...this.writes];
    this.events = [...b.events, ...this.events];
  }
  add(id: string) {
    const alert = { _id: id, sensor_id: "s1", state: "resolved", severity: "warning", message: "m", rules: {} };
    this.writes.push(alert as unknown as W);
    this.events.push({ event: "resolved", alert: alert as unknown as W });
  }
}

/** A publisher whose sends the test answers by hand. */
class HandPublisher implements RecordPublisher {
  sends: { records: readonly PublishRecord[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  send(_topic: string, records: readonly PublishRecord[]): Promise<void> {
    return new Promise((resolve, reject) => this.sends.push({ records, resolve, reject }));
  }
  ids(i: number): string[] {
    return this.sends[i].records.map((r) => JSON.parse(String(r.value)).groupKey);
  }
}

function setup() {
  const lifecycle = new FakeLifecycle();
  const publisher = new HandPublisher();
  const collection = { bulkWrite: () => Promise.resolve({}) } as unknown as Collection<W>;
  const announced: string[] = [];
  const sink = new AlertSink<unknown, W>({
    lifecycle: lifecycle as unknown as AlertLifecycle<unknown, W>,
    collection,
    subjectField: "sensor_id" as keyof W & string,
    source: "sensors",
    publisher,
    topic: "alerts",
    retry: (_what, fn) => fn(),
    onEvent: (e) => announced.push(e.alert._id),
  });
  return { lifecycle, publisher, sink, announced };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

Deno.test("alert sink: a publish that waits past the bound goes on in the background; the next flush waits for it", async () => {
  const { lifecycle, publisher, sink, announced } = setup();
  lifecycle.add("a");
  assert.equal(await sink.flush(undefined, 20), false, "not published within the bound: nothing may be committed");
  assert.deepEqual(publisher.ids(0), ["a"]);
  lifecycle.add("b");
  assert.equal(await sink.flush(undefined, 20), false, "the first publish is still under way");
  assert.equal(publisher.sends.length, 1, "one flush at a time: announcements stay in order");
  publisher.sends[0].resolve();
  await tick();
  assert.deepEqual(announced, ["a"]);
  const next = sink.flush(undefined, 1000);
  await tick();
  assert.deepEqual(publisher.ids(1), ["b"]);
  publisher.sends[1].resolve();
  assert.equal(await next, true, "everything pending written and published");
  assert.deepEqual(announced, ["a", "b"]);
});

Deno.test("alert sink: a background publish that failed puts its events back and fails the next flush", async () => {
  const { lifecycle, publisher, sink, announced } = setup();
  lifecycle.add("a");
  assert.equal(await sink.flush(undefined, 10), false);
  lifecycle.add("b");
  publisher.sends[0].reject(new Error("No leader"));
  await tick();
  await assert.rejects(sink.flush(undefined, 10), /No leader/, "the failure surfaces at the next flush");
  assert.deepEqual(lifecycle.events.map((e) => e.alert._id), ["a", "b"], "put back before the newer one, in order");
  const again = sink.flush(undefined, 1000);
  await tick();
  assert.deepEqual(publisher.ids(1), ["a", "b"]);
  publisher.sends[1].resolve();
  assert.equal(await again, true);
  assert.deepEqual(announced, ["a", "b"]);
});

Deno.test("alert sink: without a bound, a flush waits for its publish", async () => {
  const { lifecycle, publisher, sink } = setup();
  lifecycle.add("a");
  const done = sink.flush();
  await tick(30);
  publisher.sends[0].resolve();
  assert.equal(await done, true);
});
