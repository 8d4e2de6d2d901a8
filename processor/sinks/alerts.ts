/**
 * The alerts sink, shared by sensor and website alerts: writes the pending
 * alert documents of an alert lifecycle (upserts by `_id`, never the web
 * app's `acknowledged*`), then publishes their new/resolved events. One open
 * alert per subject and rule holds across instances and restarts, also on
 * servers without partial indexes: a newly opened alert continues one already
 * firing in the database, and a duplicate-key refusal adopts the firing one.
 */
import type { AnyBulkWriteOperation, Collection, Filter } from "mongodb";
import { isOnlyDuplicateKeys, writeErrorsOf } from "@iot/shared";
import {
  type AlertLifecycle,
  type AnyAlertWrite,
  type LifecycleEvent,
  processorFields,
  type StoredAlert,
} from "../stages/alert_lifecycle.ts";
import type { RecordPublisher } from "./publisher.ts";
import type { Retrier } from "./retrying.ts";

/** Options of `AlertSink`. */
export interface AlertSinkOptions<S, W extends AnyAlertWrite> {
  lifecycle: AlertLifecycle<S, W>;
  collection: Collection<W>;
  /** The document field holding the subject key (`sensor_id`, `url`). */
  subjectField: keyof W & string;
  publisher: RecordPublisher;
  topic: string;
  retry: Retrier;
  /** Called after a successful write with the number of documents written. */
  onWritten?: (count: number) => void;
  /** Called once per published event. */
  onEvent?: (event: LifecycleEvent<W>) => void;
}

/** Writes and publishes what an alert lifecycle produced. */
export class AlertSink<S, W extends AnyAlertWrite> {
  constructor(readonly o: AlertSinkOptions<S, W>) {}

  /** The alerts firing in the database, optionally of one subject. */
  firing(subjectKey?: string): Promise<StoredAlert<W>[]> {
    const filter = { state: "firing" } as Record<string, unknown>;
    if (subjectKey !== undefined) filter[this.o.subjectField] = subjectKey;
    return this.o.collection.find(filter as Filter<W>).toArray() as Promise<StoredAlert<W>[]>;
  }

  /** Replaces the lifecycle's open alerts by those firing in the database. */
  async reload(heartbeat?: () => Promise<void>): Promise<number> {
    const open = await this.o.retry("Open alert reload", () => this.firing(), heartbeat);
    this.o.lifecycle.reset(open);
    return this.o.lifecycle.openCount;
  }

  /** Writes pending alerts and publishes their events; on failure everything is put back for the next flush. */
  async flush(heartbeat?: () => Promise<void>): Promise<void> {
    const { lifecycle } = this.o;
    let batch = lifecycle.drain();
    if (batch.writes.length === 0 && batch.events.length === 0) return;
    try {
      const opened = batch.events.filter((e) => e.event === "new").map((e) => e.alert);
      if (opened.length) {
        const keys = [...new Set(opened.map((a) => this.#key(a)))];
        const firing = await this.o.retry(
          "Open alert check",
          () =>
            this.o.collection.find({ state: "firing", [this.o.subjectField]: { $in: keys } } as Filter<W>)
              .toArray(),
          heartbeat,
        ) as StoredAlert<W>[];
        const conflicts = firing.filter((f) =>
          opened.some((a) => this.#key(a) === this.#key(f) && a.rule === f.rule && a._id !== f._id)
        );
        if (conflicts.length) {
          lifecycle.restore(batch);
          for (const c of conflicts) lifecycle.adopt(c);
          batch = lifecycle.drain();
        }
      }
      const replaced = await this.#write(batch.writes, heartbeat);
      // An alert that turned out to continue one already announced is not new.
      const events = batch.events.filter((e) => !(e.event === "new" && replaced.has(e.alert._id)));
      await this.#publish(events, heartbeat);
    } catch (e) {
      lifecycle.restore(batch);
      throw e;
    }
  }

  #key(doc: W | StoredAlert<W>): string {
    return String((doc as Record<string, unknown>)[this.o.subjectField]);
  }

  /** Upserts the writes; returns the `_id`s replaced by an alert found firing in the database. */
  async #write(writes: W[], heartbeat?: () => Promise<void>): Promise<Set<string>> {
    const replaced = new Set<string>();
    if (writes.length === 0) return replaced;
    const { collection, lifecycle } = this.o;
    const op = (w: W): AnyBulkWriteOperation<W> => {
      const { _id, ...fields } = processorFields(w);
      const set = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
      return {
        updateOne: {
          filter: { _id } as Filter<W>,
          update: { $set: set, $setOnInsert: { acknowledged: false } } as never,
          upsert: true,
        },
      };
    };
    await this.o.retry("Alert write", async () => {
      try {
        await collection.bulkWrite(writes.map(op), { ordered: false });
      } catch (e) {
        if (!isOnlyDuplicateKeys(e)) throw e;
        // Another alert of the same subject and rule is open in the database: continue that one.
        for (const we of writeErrorsOf(e)) {
          const w = writes[we.index ?? -1];
          if (!w) continue;
          const existing = await collection.findOne(
            { [this.o.subjectField]: this.#key(w), rule: w.rule, state: "firing" } as Filter<W>,
          ) as StoredAlert<W> | null;
          if (existing) {
            replaced.add(w._id);
            lifecycle.adopt(existing);
          }
        }
        const again = lifecycle.drain();
        if (again.writes.length) await collection.bulkWrite(again.writes.map(op), { ordered: false });
      }
    }, heartbeat);
    this.o.onWritten?.(writes.length);
    return replaced;
  }

  async #publish(events: LifecycleEvent<W>[], heartbeat?: () => Promise<void>): Promise<void> {
    if (events.length === 0) return;
    await this.o.retry("Alert publish", () =>
      this.o.publisher.send(
        this.o.topic,
        events.map((e) => ({
          key: this.#key(e.alert),
          value: JSON.stringify({ event: e.event, ...e.alert }),
          headers: { event: e.event, rule: e.alert.rule },
        })),
      ), heartbeat);
    for (const e of events) this.o.onEvent?.(e);
  }
}
