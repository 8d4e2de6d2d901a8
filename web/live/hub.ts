/**
 * Fans the collection feeds out to WebSocket clients: one feed per collection
 * per process (started with the first client), per-client filters, at most one
 * frame per `flushMs` per client, and for slow clients the latest state per
 * document instead of a queue (or a "resync" when even that grows too large).
 */
import type { Db, Document } from "mongodb";
import {
  type AlertDoc,
  COLLECTIONS,
  type DeadLetterDoc,
  isLocation,
  isSensorType,
  type Logger,
  type PipelineStatsDoc,
  type Registry,
  type WindowDoc,
} from "@iot/shared";
import type { Counter, Gauge } from "@iot/shared";
import { CollectionFeed, type FeedMode } from "./source.ts";
import {
  type Frame,
  type Subscription,
  toWireAlert,
  toWireDeadLetter,
  toWireStats,
  toWireWindow,
  type WireAlert,
  type WireDeadLetter,
  type WireStats,
  type WireWindow,
} from "../lib/wire.ts";
import { SENSOR_ID_RE } from "../api/params.ts";

/** The minimal socket a client needs (Deno's WebSocket satisfies it). */
export interface ClientSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** Options of `LiveHub`. */
export interface LiveHubOptions {
  db: Db;
  logger: Logger;
  registry: Registry;
  /** "auto" tries change streams first; "polling" skips them. */
  prefer?: "auto" | "polling";
  flushMs?: number;
  pollIntervalMs?: number;
  /** Bytes buffered on a socket above which frames are held back. */
  slowBytes?: number;
  /** Pending documents per client above which the client is told to resync. */
  maxPending?: number;
  /** Messages a client may send per 10 s before it is disconnected. */
  maxMessagesPer10s?: number;
  /** Feeds stop this long after the last client left (they cost the database a cursor each). */
  idleStopMs?: number;
}

type Key = "windows" | "alerts" | "stats" | "deadLetters";

const FEEDS: { key: Key; collection: string; pollField: string }[] = [
  { key: "windows", collection: COLLECTIONS.windows, pollField: "updated_at" },
  { key: "alerts", collection: COLLECTIONS.alerts, pollField: "updated_at" },
  { key: "stats", collection: COLLECTIONS.pipelineStats, pollField: "updated_at" },
  { key: "deadLetters", collection: COLLECTIONS.deadLetters, pollField: "failed_at" },
];

interface Filter {
  types?: Set<string>;
  locations?: Set<string>;
  sensor?: string;
  kind: string;
  size: number;
}

/** Parses a browser subscription message; undefined when malformed. */
export function parseSubscription(text: string): Filter | undefined {
  if (text.length > 4096) return undefined;
  let msg: Subscription;
  try {
    msg = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof msg !== "object" || msg === null || msg.t !== "sub") return undefined;
  const list = (v: unknown, ok: (s: unknown) => boolean) =>
    v === undefined ? [] : Array.isArray(v) && v.length <= 20 && v.every(ok) ? v as string[] : undefined;
  const types = list(msg.types, isSensorType);
  const locations = list(msg.locations, isLocation);
  if (!types || !locations) return undefined;
  if (msg.sensor !== undefined && (typeof msg.sensor !== "string" || !SENSOR_ID_RE.test(msg.sensor))) return undefined;
  const kind = msg.kind ?? "type_location";
  const size = msg.size ?? 10;
  if ((kind !== "type_location" && kind !== "sensor") || (size !== 10 && size !== 60)) return undefined;
  return {
    types: types.length ? new Set(types) : undefined,
    locations: locations.length ? new Set(locations) : undefined,
    sensor: msg.sensor,
    kind,
    size,
  };
}

/** One connected browser. */
class LiveClient {
  filter?: Filter;
  windows = new Map<string, WireWindow>();
  alerts = new Map<string, WireAlert>();
  stats = new Map<string, WireStats>();
  deadLetters = new Map<string, WireDeadLetter>();
  resync = false;
  messages: number[] = [];
  constructor(readonly socket: ClientSocket) {}

  get pending(): number {
    return this.windows.size + this.alerts.size + this.stats.size + this.deadLetters.size;
  }

  matches(doc: { sensor_type: string; location: string; sensor_id?: string }): boolean {
    const f = this.filter;
    if (!f) return false;
    if (f.sensor && doc.sensor_id !== f.sensor) return false;
    if (f.types && !f.types.has(doc.sensor_type)) return false;
    if (f.locations && !f.locations.has(doc.location)) return false;
    return true;
  }
}

/** The process's live fan-out. */
export class LiveHub {
  readonly modes: Record<Key, FeedMode> = {
    windows: "starting",
    alerts: "starting",
    stats: "starting",
    deadLetters: "starting",
  };
  #feeds: CollectionFeed[] = [];
  #clients = new Set<LiveClient>();
  #timer?: ReturnType<typeof setInterval>;
  #idleTimer?: ReturnType<typeof setTimeout>;
  #stopped = false;
  #framesSent: Counter;
  #clientsGauge: Gauge;
  #modeGauge: Gauge;
  #disconnects: Counter;

  constructor(readonly options: LiveHubOptions) {
    const r = options.registry;
    this.#framesSent = r.counter("web_ws_frames_sent_total", "WebSocket frames sent to browsers");
    this.#clientsGauge = r.gauge("web_ws_clients", "Connected WebSocket clients");
    this.#modeGauge = r.gauge("web_live_feed_mode", "1 for the live mode of each collection feed");
    this.#disconnects = r.counter("web_ws_disconnects_total", "WebSocket clients disconnected by the server");
    this.#clientsGauge.set(0);
  }

  /** Number of connected clients. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /** Starts the collection feeds (done automatically with the first client). */
  start(): void {
    if (this.#feeds.length || this.#stopped) return;
    const log = this.options.logger;
    for (const spec of FEEDS) {
      const feed = new CollectionFeed({
        collection: this.options.db.collection(spec.collection),
        pollField: spec.pollField,
        prefer: this.options.prefer,
        pollIntervalMs: this.options.pollIntervalMs,
        logger: log,
        onDocs: (docs) => this.#onDocs(spec.key, docs),
        onMode: (mode) => {
          this.modes[spec.key] = mode;
          for (const m of ["change-stream", "polling", "starting"]) {
            this.#modeGauge.set(m === mode ? 1 : 0, { collection: spec.collection, mode: m });
          }
          this.#broadcast({ t: "mode", modes: { ...this.modes } });
        },
      });
      this.#feeds.push(feed);
      feed.start();
    }
    this.#timer = setInterval(() => this.#flush(), this.options.flushMs ?? 100);
  }

  /** Registers a socket; returns the handlers its events must call. */
  connect(socket: ClientSocket): { onMessage(data: unknown): void; onClose(): void } {
    const client = new LiveClient(socket);
    clearTimeout(this.#idleTimer);
    this.#clients.add(client);
    this.#clientsGauge.set(this.#clients.size);
    this.start();
    this.#send(client, { t: "hello", modes: { ...this.modes }, now: Date.now() });
    return {
      onMessage: (data) => this.#onMessage(client, data),
      onClose: () => this.#remove(client),
    };
  }

  #onMessage(client: LiveClient, data: unknown): void {
    const now = Date.now();
    client.messages = client.messages.filter((t) => now - t < 10_000);
    client.messages.push(now);
    if (client.messages.length > (this.options.maxMessagesPer10s ?? 20)) {
      return this.#kick(client, 1008, "Too many messages");
    }
    const filter = typeof data === "string" ? parseSubscription(data) : undefined;
    if (!filter) return this.#kick(client, 1008, "Malformed message");
    client.filter = filter;
  }

  #remove(client: LiveClient): void {
    if (!this.#clients.delete(client)) return;
    this.#clientsGauge.set(this.#clients.size);
    if (this.#clients.size === 0 && !this.#stopped) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = setTimeout(() => this.#stopFeeds(), this.options.idleStopMs ?? 60_000);
    }
  }

  async #stopFeeds(): Promise<void> {
    if (this.#clients.size > 0) return;
    const feeds = this.#feeds;
    this.#feeds = [];
    clearInterval(this.#timer);
    this.options.logger.info("no live clients, feeds stopped");
    await Promise.all(feeds.map((f) => f.stop()));
    for (const key of Object.keys(this.modes) as Key[]) this.modes[key] = "starting";
  }

  #kick(client: LiveClient, code: number, reason: string): void {
    this.#disconnects.inc(1, { reason });
    this.#remove(client);
    try {
      client.socket.close(code, reason);
    } catch { /* already closed */ }
  }

  #onDocs(key: Key, docs: Document[]): void {
    for (const client of this.#clients) {
      if (!client.filter) continue;
      for (const doc of docs) {
        switch (key) {
          case "windows": {
            const w = toWireWindow(doc as WindowDoc);
            if (w.kind === client.filter.kind && w.size_s === client.filter.size && client.matches(w)) {
              client.windows.set(w.id, w);
            }
            break;
          }
          case "alerts": {
            const a = toWireAlert(doc as AlertDoc);
            if (client.matches(a)) client.alerts.set(a.id, a);
            break;
          }
          case "stats": {
            const s = toWireStats(doc as PipelineStatsDoc);
            client.stats.set(s.id, s);
            break;
          }
          case "deadLetters": {
            const d = toWireDeadLetter(doc as DeadLetterDoc);
            client.deadLetters.set(d.id, d);
            break;
          }
        }
      }
      if (client.pending > (this.options.maxPending ?? 5000)) {
        client.windows.clear();
        client.alerts.clear();
        client.stats.clear();
        client.deadLetters.clear();
        client.resync = true;
      }
    }
  }

  #flush(): void {
    for (const client of this.#clients) {
      if (client.socket.readyState !== 1) continue;
      if (client.socket.bufferedAmount > (this.options.slowBytes ?? 1 << 20)) continue;
      if (client.resync) {
        client.resync = false;
        this.#send(client, { t: "resync" });
        continue;
      }
      if (client.pending === 0) continue;
      const frame: Frame = { t: "batch" };
      if (client.windows.size) frame.windows = [...client.windows.values()];
      if (client.alerts.size) frame.alerts = [...client.alerts.values()];
      if (client.stats.size) frame.stats = [...client.stats.values()];
      if (client.deadLetters.size) frame.deadLetters = [...client.deadLetters.values()];
      client.windows.clear();
      client.alerts.clear();
      client.stats.clear();
      client.deadLetters.clear();
      this.#send(client, frame);
    }
  }

  #broadcast(frame: Frame): void {
    for (const client of this.#clients) this.#send(client, frame);
  }

  #send(client: LiveClient, frame: Frame): void {
    if (client.socket.readyState !== 1) return;
    try {
      client.socket.send(JSON.stringify(frame));
      this.#framesSent.inc();
    } catch (e) {
      this.options.logger.debug("send failed", { error: e as Error });
    }
  }

  /** Closes every socket and stops the feeds. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#idleTimer);
    for (const client of this.#clients) {
      try {
        client.socket.close(1001, "Server shutting down");
      } catch { /* closed */ }
    }
    this.#clients.clear();
    this.#clientsGauge.set(0);
    await Promise.all(this.#feeds.map((f) => f.stop()));
  }
}
