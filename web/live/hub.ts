/**
 * The one coalescing fan-out from MongoDB collection feeds to WebSocket
 * clients. A hub owns one feed per collection per process (started with the
 * first client, stopped `idleStopMs` after the last), reads client messages
 * through its feed's `parse`, and keeps for a slow client only the latest
 * version of each document (or tells it to resync when even that grows too
 * large). Changes are pushed at once when none was pushed in the last
 * `flushMs`, else `flushMs` after the last push: at most one frame per
 * `flushMs` per client, and no more delay than that.
 *
 * What is watched and what a client gets is the feed's business
 * (`sensor_feed.ts`, `website_feed.ts`): the hub knows nothing of either.
 */
import type { Db, Document } from "mongodb";
import type { Counter, Gauge, Logger, Registry } from "@iot/shared";
import { CollectionFeed, type FeedMode } from "./source.ts";

/** The minimal socket a client needs (Deno's WebSocket satisfies it). */
export interface ClientSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A watched collection: its documents go to clients under `key` in batch frames. */
export interface FeedCollection<S = unknown> {
  key: string;
  collection: string;
  /** The field that grows on every write (for the polling fallback). */
  pollField: string;
  /**
   * Only documents whose `_id` starts with this (e.g. one kind of window). It is matched on the change
   * event's key, so the server drops the others before it looks them up.
   */
  idPrefix?: string;
  /**
   * Whether a subscription needs this feed. Without it the feed runs while any client is connected; with
   * it, only while a connected client's subscription needs it, so that no stream reads, and no server
   * sends, thousands of documents a second that nobody watches.
   */
  wanted?(subscription: S): boolean;
}

/** A changed document in the form clients receive. */
export interface WireItem {
  id: string;
}

/** Outcome of reading a client message. */
export type ParsedMessage<S> = { ok: true; subscription: S } | { ok: false; reason: string };

/** Tuning of a hub (a feed gives its defaults; options override them). */
export interface HubTuning {
  /** Least interval of frames per client (also the most a change waits for the next frame). */
  flushMs?: number;
  /** Bytes buffered on a socket above which frames are held back. */
  slowBytes?: number;
  /** Pending documents per client above which the client is told to resync. */
  maxPending?: number;
  /** Messages a client may send per 10 s before it is disconnected. */
  maxMessagesPer10s?: number;
  /** Feeds stop this long after the last client left (they cost the database a cursor each). */
  idleStopMs?: number;
}

/** What a hub serves: which collections, what clients subscribe to, and what each of them receives. */
export interface HubFeed<S> {
  collections: readonly FeedCollection<S>[];
  /** The subscription of a newly connected client; undefined: nothing is sent until it subscribes. */
  initial?: S;
  /** Reads a client message: a new subscription, or why the client is disconnected. */
  parse(data: unknown): ParsedMessage<S>;
  /** The wire form of a changed document of `key`; undefined to drop it. */
  toWire(key: string, doc: Document): WireItem | undefined;
  /** Whether a subscriber wants an item. */
  matches(key: string, item: WireItem, subscription: S): boolean;
  /** The first frame of a connection. */
  hello(modes: Record<string, FeedMode>, now: number): object;
  /** The frame announcing new feed modes; without it modes are not announced. */
  modeFrame?(modes: Record<string, FeedMode>): object;
  /** Default tuning. */
  defaults?: HubTuning;
}

/** Options of `LiveHub`. */
export interface LiveHubOptions<S> extends HubTuning {
  feed: HubFeed<S>;
  db: Db;
  logger: Logger;
  /** Registry for the WebSocket metrics (none when absent). */
  registry?: Registry;
  /** "auto" tries change streams first; "polling" skips them. */
  prefer?: "auto" | "polling";
  pollIntervalMs?: number;
}

/** One connected browser. */
class LiveClient<S> {
  subscription?: S;
  pending = new Map<string, Map<string, WireItem>>();
  resync = false;
  messages: number[] = [];
  constructor(readonly socket: ClientSocket) {}

  get pendingCount(): number {
    let n = 0;
    for (const m of this.pending.values()) n += m.size;
    return n;
  }
}

interface HubMetrics {
  framesSent: Counter;
  clients: Gauge;
  mode: Gauge;
  disconnects: Counter;
}

/** A process's live fan-out of one feed. */
export class LiveHub<S> {
  /** Live mode per collection key. */
  readonly modes: Record<string, FeedMode> = {};
  /** The running feeds, by the collection entry they serve. */
  #feeds = new Map<FeedCollection<S>, CollectionFeed>();
  /** The mode each running feed last reported. */
  #feedModes = new Map<FeedCollection<S>, FeedMode>();
  #clients = new Set<LiveClient<S>>();
  #timer?: ReturnType<typeof setTimeout>;
  #lastFlush = -Infinity;
  #idleTimer?: ReturnType<typeof setTimeout>;
  #stopped = false;
  #metrics?: HubMetrics;
  #tuning: Required<HubTuning>;

  constructor(readonly options: LiveHubOptions<S>) {
    const d = options.feed.defaults ?? {};
    this.#tuning = {
      flushMs: options.flushMs ?? d.flushMs ?? 100,
      slowBytes: options.slowBytes ?? d.slowBytes ?? 1 << 20,
      maxPending: options.maxPending ?? d.maxPending ?? Infinity,
      maxMessagesPer10s: options.maxMessagesPer10s ?? d.maxMessagesPer10s ?? 20,
      idleStopMs: options.idleStopMs ?? d.idleStopMs ?? 60_000,
    };
    for (const c of options.feed.collections) this.modes[c.key] = "starting";
    const r = options.registry;
    if (r) {
      this.#metrics = {
        framesSent: r.counter("web_ws_frames_sent_total", "WebSocket frames sent to browsers"),
        clients: r.gauge("web_ws_clients", "Connected WebSocket clients"),
        mode: r.gauge("web_live_feed_mode", "1 for the live mode of each collection feed"),
        disconnects: r.counter("web_ws_disconnects_total", "WebSocket clients disconnected by the server"),
      };
      this.#metrics.clients.set(0);
    }
  }

  /** Number of connected clients. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /** Starts the collection feeds that are wanted (done automatically with the first client). */
  start(): void {
    this.#syncFeeds();
  }

  /** Starts the feeds that are wanted and not running; stops the conditional ones no subscription wants. */
  #syncFeeds(): void {
    if (this.#stopped) return;
    const subscriptions = [...this.#clients].flatMap((c) => c.subscription === undefined ? [] : [c.subscription]);
    for (const spec of this.options.feed.collections) {
      const wanted = !spec.wanted || subscriptions.some((s) => spec.wanted!(s));
      const running = this.#feeds.get(spec);
      if (wanted && !running) this.#startFeed(spec);
      if (!wanted && running) {
        this.#feeds.delete(spec);
        this.#feedModes.delete(spec);
        running.stop().catch((e) =>
          this.options.logger.warn("live feed stop failed", { collection: spec.collection, error: e as Error })
        );
        this.#announceMode(spec);
      }
    }
  }

  #startFeed(spec: FeedCollection<S>): void {
    const o = this.options;
    const feed = new CollectionFeed({
      collection: o.db.collection(spec.collection),
      pollField: spec.pollField,
      idPrefix: spec.idPrefix,
      prefer: o.prefer,
      pollIntervalMs: o.pollIntervalMs,
      logger: o.logger,
      onDocs: (docs) => this.#onDocs(spec.key, docs),
      onMode: (mode) => {
        if (this.#feeds.get(spec) !== feed) return;
        this.#feedModes.set(spec, mode);
        this.#announceMode(spec);
      },
    });
    this.#feeds.set(spec, feed);
    feed.start();
  }

  /**
   * Sets and announces the mode of `spec`'s key (and its metric): of the running feeds under that key, the
   * least live one's, since one key may be served by several feeds.
   */
  #announceMode(spec: FeedCollection<S>): void {
    const order: FeedMode[] = ["polling", "starting", "change-stream"];
    const modes = [...this.#feedModes].filter(([s]) => s.key === spec.key).map(([, m]) => m);
    const mode = order.find((m) => modes.includes(m)) ?? "starting";
    if (this.modes[spec.key] === mode) return;
    this.modes[spec.key] = mode;
    for (const m of order) this.#metrics?.mode.set(m === mode ? 1 : 0, { collection: spec.collection, mode: m });
    const frame = this.options.feed.modeFrame?.({ ...this.modes });
    if (frame) { for (const client of this.#clients) this.#send(client, frame); }
  }

  /** Schedules the next push: at once if none was pushed in the last `flushMs`. */
  #schedule(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    const wait = Math.max(0, this.#lastFlush + this.#tuning.flushMs - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, wait);
  }

  /** Registers a socket; returns the handlers its events must call. */
  connect(socket: ClientSocket): { onMessage(data: unknown): void; onClose(): void } {
    const client = new LiveClient<S>(socket);
    client.subscription = this.options.feed.initial;
    clearTimeout(this.#idleTimer);
    this.#clients.add(client);
    this.#metrics?.clients.set(this.#clients.size);
    this.start();
    this.#send(client, this.options.feed.hello({ ...this.modes }, Date.now()));
    return {
      onMessage: (data) => this.#onMessage(client, data),
      onClose: () => this.#remove(client),
    };
  }

  #onMessage(client: LiveClient<S>, data: unknown): void {
    const now = Date.now();
    client.messages = client.messages.filter((t) => now - t < 10_000);
    client.messages.push(now);
    if (client.messages.length > this.#tuning.maxMessagesPer10s) return this.#kick(client, 1008, "Too many messages");
    const parsed = this.options.feed.parse(data);
    if (!parsed.ok) return this.#kick(client, 1008, parsed.reason);
    client.subscription = parsed.subscription;
    this.#syncFeeds();
  }

  #remove(client: LiveClient<S>): void {
    if (!this.#clients.delete(client)) return;
    this.#metrics?.clients.set(this.#clients.size);
    if (this.#clients.size > 0) this.#syncFeeds();
    if (this.#clients.size === 0 && !this.#stopped) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = setTimeout(() => this.#stopFeeds(), this.#tuning.idleStopMs);
    }
  }

  async #stopFeeds(): Promise<void> {
    if (this.#clients.size > 0 || this.#feeds.size === 0) return;
    const feeds = this.#takeFeeds();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.options.logger.info("no live clients, feeds stopped");
    await Promise.all(feeds.map((f) => f.stop()));
    for (const key of Object.keys(this.modes)) this.modes[key] = "starting";
  }

  #kick(client: LiveClient<S>, code: number, reason: string): void {
    this.#metrics?.disconnects.inc(1, { reason });
    this.#remove(client);
    try {
      client.socket.close(code, reason);
    } catch { /* already closed */ }
  }

  #onDocs(key: string, docs: Document[]): void {
    const feed = this.options.feed;
    const items = docs.map((d) => feed.toWire(key, d)).filter((i): i is WireItem => i !== undefined);
    if (items.length === 0) return;
    for (const client of this.#clients) {
      const sub = client.subscription;
      if (sub === undefined) continue;
      let pending = client.pending.get(key);
      if (!pending) client.pending.set(key, pending = new Map());
      for (const item of items) if (feed.matches(key, item, sub)) pending.set(item.id, item);
      if (client.pendingCount > this.#tuning.maxPending) {
        client.pending.clear();
        client.resync = true;
      }
    }
    this.#schedule();
  }

  #flush(): void {
    this.#lastFlush = performance.now();
    let held = false;
    for (const client of this.#clients) {
      if (client.socket.readyState !== 1) continue;
      if (client.socket.bufferedAmount > this.#tuning.slowBytes) {
        held ||= client.resync || client.pendingCount > 0;
        continue;
      }
      if (client.resync) {
        client.resync = false;
        this.#send(client, { t: "resync" });
        continue;
      }
      if (client.pendingCount === 0) continue;
      const frame: Record<string, unknown> = { t: "batch" };
      for (const [key, items] of client.pending) if (items.size) frame[key] = [...items.values()];
      client.pending.clear();
      this.#send(client, frame);
    }
    // A slow client's changes wait for the next push.
    if (held) this.#schedule();
  }

  #send(client: LiveClient<S>, frame: object): void {
    if (client.socket.readyState !== 1) return;
    try {
      client.socket.send(JSON.stringify(frame));
      this.#metrics?.framesSent.inc();
    } catch (e) {
      this.options.logger.debug("send failed", { error: e as Error });
    }
  }

  /** Closes every socket and stops the feeds. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#idleTimer);
    for (const client of this.#clients) {
      try {
        client.socket.close(1001, "Server shutting down");
      } catch { /* closed */ }
    }
    this.#clients.clear();
    this.#metrics?.clients.set(0);
    await Promise.all(this.#takeFeeds().map((f) => f.stop()));
  }

  /** The running feeds, forgotten by the hub (the caller stops them). */
  #takeFeeds(): CollectionFeed[] {
    const feeds = [...this.#feeds.values()];
    this.#feeds.clear();
    this.#feedModes.clear();
    return feeds;
  }
}
