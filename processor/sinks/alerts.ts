/**
 * The incidents sink, shared by sensor and website incidents: writes the
 * pending incident documents of the incident engine (upserts by `_id`, never
 * the web app's `acknowledged*` nor the notifier's `delivery`), then publishes
 * their announcements (Alertmanager-like JSON, `stages/announce.ts`) and hands
 * them to the webhook notifier. One open incident per subject holds across
 * instances and restarts, also on servers without partial indexes: a newly
 * opened incident continues one already firing in the database, and a
 * duplicate-key refusal adopts the firing one.
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
import { type AnnouncementPayload, announcementPayload } from "../stages/announce.ts";
import type { RecordPublisher } from "./publisher.ts";
import type { Retrier } from "./retrying.ts";

/** Options of `AlertSink`. */
export interface AlertSinkOptions<S, W extends AnyAlertWrite> {
  lifecycle: AlertLifecycle<S, W>;
  collection: Collection<W>;
  /** The document field holding the subject key (`sensor_id`, `url`). */
  subjectField: keyof W & string;
  /** The source named in announcements: "sensors", "websites". */
  source: string;
  publisher: RecordPublisher;
  topic: string;
  retry: Retrier;
  /** Called after a successful write with the number of documents written. */
  onWritten?: (count: number) => void;
  /** Called once per published announcement, with its payload (the webhook notifier takes it from here). */
  onEvent?: (event: LifecycleEvent<W>, payload: AnnouncementPayload) => void;
}

/** Writes and publishes what an alert lifecycle produced. */
export class AlertSink<S, W extends AnyAlertWrite> {
  constructor(readonly o: AlertSinkOptions<S, W>) {}

  /** The incidents firing in the database, optionally of one subject, or matching `extra`. */
  firing(subjectKey?: string, extra: Record<string, unknown> = {}): Promise<StoredAlert<W>[]> {
    const filter = { ...extra, state: "firing" } as Record<string, unknown>;
    if (subjectKey !== undefined) filter[this.o.subjectField] = subjectKey;
    return this.o.collection.find(filter as Filter<W>).toArray() as Promise<StoredAlert<W>[]>;
  }

  /** Replaces the engine's open incidents by those firing in the database (matching `extra`: owned partitions). */
  async reload(heartbeat?: () => Promise<void>, extra: Record<string, unknown> = {}): Promise<number> {
    await this.#inflight?.catch(() => {}); // a flush still publishing puts back what failed: before the reset
    const open = await this.o.retry("Open incident reload", () => this.firing(undefined, extra), heartbeat);
    this.o.lifecycle.reset(open);
    this.#known.clear();
    for (const d of open) this.#known.add(d._id);
    return this.o.lifecycle.openCount;
  }

  /** A flush still under way after its caller stopped waiting (`flush` with `waitMs`). */
  #inflight?: Promise<void>;

  /**
   * Writes pending alerts and publishes their events; on failure everything is put back for the next
   * flush. With `waitMs`, waits at most that long: a flush not done by then (a publish waiting for a new
   * partition leader) goes on in the background and `false` is returned, so the caller commits nothing
   * yet; the next flush first waits for it (again at most `waitMs`) and rethrows its failure. One flush
   * at a time keeps the announcements in order. Resolves `true` once everything pending was written.
   */
  async flush(heartbeat?: () => Promise<void>, waitMs = Infinity): Promise<boolean> {
    if (this.#inflight) {
      if (!await settlesWithin(this.#inflight, waitMs)) return false;
      const previous = this.#inflight;
      this.#inflight = undefined;
      await previous;
    }
    const run = this.#flushNow(heartbeat);
    if (await settlesWithin(run, waitMs)) {
      await run;
      return true;
    }
    this.#inflight = run;
    run.catch(() => {}); // surfaces at the next flush
    return false;
  }

  async #flushNow(heartbeat?: () => Promise<void>): Promise<void> {
    const { lifecycle } = this.o;
    let batch = lifecycle.drain();
    if (batch.writes.length === 0 && batch.events.length === 0) return;
    try {
      // Incidents written for the first time: the database may already hold an open one of the subject.
      const opened = batch.writes.filter((w) => w.state === "firing" && !this.#known.has(w._id));
      if (opened.length) {
        const keys = [...new Set(opened.map((a) => this.#key(a)))];
        const firing = await this.o.retry(
          "Open incident check",
          () =>
            this.o.collection.find({ state: "firing", [this.o.subjectField]: { $in: keys } } as Filter<W>)
              .toArray(),
          heartbeat,
        ) as StoredAlert<W>[];
        const conflicts = firing.filter((f) => opened.some((a) => this.#key(a) === this.#key(f) && a._id !== f._id));
        if (conflicts.length) {
          lifecycle.restore(batch);
          for (const c of conflicts) lifecycle.adopt(c);
          batch = lifecycle.drain();
        }
      }
      const replaced = await this.#write(batch.writes, heartbeat);
      for (const w of batch.writes) this.#remember(w);
      // An incident that turned out to continue one already announced is not new.
      const events = batch.events.filter((e) => !(e.event === "opened" && replaced.has(e.alert._id)));
      await this.#publish(events, heartbeat);
    } catch (e) {
      lifecycle.restore(batch);
      throw e;
    }
  }

  /** Ids of incidents this sink wrote or loaded while open (bounded: forgotten once resolved). */
  #known = new Set<string>();

  #remember(w: W): void {
    if (w.state === "firing") this.#known.add(w._id);
    else this.#known.delete(w._id);
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
    await this.o.retry("Incident write", async () => {
      try {
        await collection.bulkWrite(writes.map(op), { ordered: false });
      } catch (e) {
        if (!isOnlyDuplicateKeys(e)) throw e;
        // Another incident of the same subject is open in the database: continue that one.
        for (const we of writeErrorsOf(e)) {
          const w = writes[we.index ?? -1];
          if (!w) continue;
          const existing = await collection.findOne(
            { [this.o.subjectField]: this.#key(w), state: "firing" } as Filter<W>,
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
    const payloads = events.map((e) =>
      announcementPayload(this.o.source, e as LifecycleEvent<AnyAlertWrite>, this.o.lifecycle.spec.labels(e.alert))
    );
    await this.o.retry("Incident announcement", () =>
      this.o.publisher.send(
        this.o.topic,
        events.map((e, i) => ({
          key: this.#key(e.alert),
          value: JSON.stringify(payloads[i]),
          headers: { event: e.event, rule: e.alert.rule, source: this.o.source },
        })),
      ), heartbeat);
    events.forEach((e, i) => this.o.onEvent?.(e, payloads[i]));
  }
}

/** Whether `p` settles (resolves or rejects) within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  if (ms === Infinity) {
    await p.catch(() => {});
    return true;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p.then(() => true, () => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
