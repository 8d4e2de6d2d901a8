/**
 * Live document feeds of one collection. A change stream (tryNext loop with a
 * short sleep, resume token kept, reopened with `resumeAfter` after errors) is
 * tried first; where it is unsupported (standalone server, stand-ins, repeated
 * errors) a polling source with the same interface takes over, and says so.
 *
 * Latency of the change stream: real MongoDB holds an empty getMore on the
 * server for up to `idleMs` (`maxAwaitTimeMS`) and answers as soon as a change
 * arrives; the stand-in answers at once and the loop sleeps `idleMs`. Changes
 * read are handed on at the latest `idleMs` after the first of them, so a
 * steady flow of changes never holds a batch back until it is full.
 */
import type { ChangeStream, Collection, Document, ResumeToken } from "mongodb";
import { abortableSleep as sleep, backoffDelay, type Logger } from "@iot/shared";

/** Mode of a running feed. */
export type FeedMode = "change-stream" | "polling" | "starting";

/** A source of changed documents. */
export interface LiveSource {
  readonly mode: Exclude<FeedMode, "starting">;
  /** Runs until the signal aborts; calls `onDocs` with changed documents. Throws when it cannot run at all. */
  run(signal: AbortSignal, onDocs: (docs: Document[]) => void): Promise<void>;
}

/** The change stream could not be opened (unsupported or failing). */
export class ChangeStreamUnavailable extends Error {
  override name = "ChangeStreamUnavailable";
}

/** Options of `ChangeStreamSource`. */
export interface ChangeStreamOptions {
  /** Sleep when `tryNext()` had nothing (default 20 ms); also the server's wait and the batching bound. */
  idleMs?: number;
  /** Consecutive failures after which the source gives up (the feed then polls). */
  maxFailures?: number;
  /** Only documents whose `_id` starts with this (matched on the event's `documentKey`, before any lookup). */
  idPrefix?: string;
  logger: Logger;
}

/** Default `idleMs` of a change stream: its getMores are cheap (on the stand-in too, see `dev/java/StreamOplog.java`). */
const DEFAULT_IDLE_MS = 20;

/** A collection change stream as a live source. */
export class ChangeStreamSource implements LiveSource {
  readonly mode = "change-stream" as const;
  /** The last resume token seen: a reopened stream continues from here. */
  resumeToken?: ResumeToken;

  constructor(readonly collection: Collection, readonly options: ChangeStreamOptions) {}

  async run(signal: AbortSignal, onDocs: (docs: Document[]) => void): Promise<void> {
    const idle = this.options.idleMs ?? DEFAULT_IDLE_MS;
    let failures = 0;
    let everWorked = false;
    while (!signal.aborted) {
      let stream: ChangeStream | undefined;
      const closeOnAbort = () => void stream?.close().catch(() => {});
      signal.addEventListener("abort", closeOnAbort, { once: true });
      try {
        stream = this.collection.watch(
          [{
            $match: {
              operationType: { $in: ["insert", "update", "replace"] },
              ...prefixFilter("documentKey._id", this.options.idPrefix),
            },
          }],
          {
            fullDocument: "updateLookup",
            maxAwaitTimeMS: idle,
            ...(this.resumeToken ? { resumeAfter: this.resumeToken } : {}),
          },
        );
        while (!signal.aborted) {
          const batch: Document[] = [];
          let ev = await stream.tryNext();
          everWorked = true;
          failures = 0;
          const first = performance.now();
          while (ev) {
            this.resumeToken = ev._id;
            if ("fullDocument" in ev && ev.fullDocument) batch.push(ev.fullDocument);
            if (batch.length >= 500 || performance.now() - first >= idle) break;
            ev = await stream.tryNext();
          }
          if (batch.length) onDocs(batch);
          else await sleep(idle, signal);
        }
      } catch (e) {
        if (signal.aborted) break;
        failures++;
        if (!everWorked || failures >= (this.options.maxFailures ?? 5)) {
          throw new ChangeStreamUnavailable(
            `Change stream on ${this.collection.collectionName} failed: ${(e as Error).message}`,
          );
        }
        this.options.logger.warn("change stream error, reopening from the resume token", {
          collection: this.collection.collectionName,
          error: e as Error,
          failures,
        });
        await sleep(backoffDelay(failures, { initialMs: 400, maxMs: 5000 }), signal);
      } finally {
        signal.removeEventListener("abort", closeOnAbort);
        await stream?.close().catch(() => {});
      }
    }
  }
}

/** A query on `field` starting with `prefix`; none without a prefix. */
function prefixFilter(field: string, prefix: string | undefined): Document {
  if (prefix === undefined) return {};
  const literal = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // A BSON regular expression rather than a `$regex` string: the server compiles it once per query.
  return { [field]: new RegExp("^" + literal) };
}

/** Options of `PollingSource`. */
export interface PollingOptions {
  /** The document field that grows on every write (e.g. `updated_at`). */
  field: string;
  intervalMs?: number;
  /** Start from this time (default: now, only changes from here on). */
  since?: Date;
  /** Only documents whose `_id` starts with this. */
  idPrefix?: string;
  logger: Logger;
}

/** Periodic queries for documents whose `field` moved past the last seen value. */
export class PollingSource implements LiveSource {
  readonly mode = "polling" as const;
  #since: Date;
  #seenAtSince = new Set<string>();

  constructor(readonly collection: Collection, readonly options: PollingOptions) {
    this.#since = options.since ?? new Date();
  }

  async run(signal: AbortSignal, onDocs: (docs: Document[]) => void): Promise<void> {
    const field = this.options.field;
    let warned = false;
    while (!signal.aborted) {
      try {
        const docs = await this.collection.find({
          ...prefixFilter("_id", this.options.idPrefix),
          [field]: { $gte: this.#since },
        })
          .sort({ [field]: 1 }).limit(1000)
          .toArray();
        const fresh = docs.filter((d) => {
          const t = new Date(d[field]).getTime();
          return t > this.#since.getTime() || !this.#seenAtSince.has(String(d._id));
        });
        if (docs.length) {
          const maxT = Math.max(...docs.map((d) => new Date(d[field]).getTime()));
          if (maxT > this.#since.getTime()) {
            this.#since = new Date(maxT);
            this.#seenAtSince.clear();
          }
          for (const d of docs) if (new Date(d[field]).getTime() === maxT) this.#seenAtSince.add(String(d._id));
        }
        if (fresh.length) onDocs(fresh);
        warned = false;
      } catch (e) {
        if (signal.aborted) break;
        if (!warned) {
          this.options.logger.warn("polling failed, retrying", {
            collection: this.collection.collectionName,
            error: e as Error,
          });
        }
        warned = true;
      }
      await sleep(this.options.intervalMs ?? 1000, signal);
    }
  }
}

/** Options of `CollectionFeed`. */
export interface FeedOptions {
  collection: Collection;
  /** Field for the polling fallback. */
  pollField: string;
  /** Only documents whose `_id` starts with this (`FeedCollection.idPrefix`). */
  idPrefix?: string;
  /** "auto": change stream, then polling on failure; "polling": polling only. */
  prefer?: "auto" | "polling";
  pollIntervalMs?: number;
  idleMs?: number;
  logger: Logger;
  onDocs: (docs: Document[]) => void;
  onMode: (mode: FeedMode) => void;
}

/** One collection's live feed: a change stream that falls back to polling. */
export class CollectionFeed {
  mode: FeedMode = "starting";
  #abort = new AbortController();
  #running?: Promise<void>;

  constructor(readonly options: FeedOptions) {}

  /** Starts the feed (idempotent). */
  start(): void {
    this.#running ??= this.#run();
  }

  async #run(): Promise<void> {
    const o = this.options;
    const signal = this.#abort.signal;
    const name = o.collection.collectionName;
    const since = new Date();
    if (o.prefer !== "polling") {
      const cs = new ChangeStreamSource(o.collection, { idleMs: o.idleMs, idPrefix: o.idPrefix, logger: o.logger });
      this.#setMode("change-stream");
      try {
        await cs.run(signal, o.onDocs);
        return;
      } catch (e) {
        if (signal.aborted) return;
        o.logger.warn("change streams unavailable, switching to polling", { collection: name, error: e as Error });
      }
    }
    this.#setMode("polling");
    const poll = new PollingSource(o.collection, {
      field: o.pollField,
      intervalMs: o.pollIntervalMs,
      since,
      idPrefix: o.idPrefix,
      logger: o.logger,
    });
    await poll.run(signal, o.onDocs);
  }

  #setMode(mode: FeedMode): void {
    this.mode = mode;
    this.options.logger.info("live feed mode", { collection: this.options.collection.collectionName, mode });
    this.options.onMode(mode);
  }

  /** Stops the feed and waits for its loop to end. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running?.catch(() => {});
  }
}
