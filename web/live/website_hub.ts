/**
 * Live website monitoring for `/ws/websites`: the `website_metrics` (rolling
 * documents) and `website_alerts` feeds, started with the first client and
 * stopped with the last, at most one frame per `flushMs` per client with the
 * latest state per document.
 */
import type { Db, Document } from "mongodb";
import { COLLECTIONS, type Logger, type WebsiteAlertDoc, type WebsiteMetricsDoc } from "@iot/shared";
import { CollectionFeed } from "./source.ts";
import type { ClientSocket } from "./hub.ts";
import {
  toWireSite,
  toWireWebsiteAlert,
  type WebsiteFrame,
  type WireSite,
  type WireWebsiteAlert,
} from "../lib/website_wire.ts";

/** Options of `WebsiteHub`. */
export interface WebsiteHubOptions {
  db: Db;
  logger: Logger;
  prefer?: "auto" | "polling";
  flushMs?: number;
  pollIntervalMs?: number;
  /** Bytes buffered on a socket above which frames are held back. */
  slowBytes?: number;
}

interface Client {
  socket: ClientSocket;
  sites: Map<string, WireSite>;
  alerts: Map<string, WireWebsiteAlert>;
}

/** The process's website fan-out. */
export class WebsiteHub {
  #clients = new Set<Client>();
  #feeds: CollectionFeed[] = [];
  #timer?: ReturnType<typeof setInterval>;
  #stopped = false;

  constructor(readonly options: WebsiteHubOptions) {}

  /** Number of connected clients. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /** Registers a socket; returns the handlers its events must call. The browser sends nothing. */
  connect(socket: ClientSocket): { onMessage(data: unknown): void; onClose(): void } {
    const client: Client = { socket, sites: new Map(), alerts: new Map() };
    this.#clients.add(client);
    this.#start();
    this.#send(client, { t: "hello", now: Date.now() });
    return {
      onMessage: () => {
        this.#remove(client);
        try {
          socket.close(1008, "Unexpected message");
        } catch { /* closed */ }
      },
      onClose: () => this.#remove(client),
    };
  }

  #start(): void {
    if (this.#feeds.length || this.#stopped) return;
    const specs = [
      { collection: COLLECTIONS.websiteMetrics, key: "sites" as const },
      { collection: COLLECTIONS.websiteAlerts, key: "alerts" as const },
    ];
    for (const spec of specs) {
      const feed = new CollectionFeed({
        collection: this.options.db.collection(spec.collection),
        pollField: "updated_at",
        prefer: this.options.prefer,
        pollIntervalMs: this.options.pollIntervalMs,
        logger: this.options.logger,
        onDocs: (docs) => this.#onDocs(spec.key, docs),
        onMode: () => {},
      });
      this.#feeds.push(feed);
      feed.start();
    }
    this.#timer = setInterval(() => this.#flush(), this.options.flushMs ?? 250);
  }

  #onDocs(key: "sites" | "alerts", docs: Document[]): void {
    for (const doc of docs) {
      if (key === "sites") {
        if ((doc as WebsiteMetricsDoc).kind !== "rolling") continue;
        const s = toWireSite(doc as WebsiteMetricsDoc);
        for (const c of this.#clients) c.sites.set(s.id, s);
      } else {
        const a = toWireWebsiteAlert(doc as WebsiteAlertDoc);
        for (const c of this.#clients) c.alerts.set(a.id, a);
      }
    }
  }

  #flush(): void {
    for (const c of this.#clients) {
      if (c.socket.readyState !== 1 || c.socket.bufferedAmount > (this.options.slowBytes ?? 1 << 20)) continue;
      if (c.sites.size === 0 && c.alerts.size === 0) continue;
      const frame: WebsiteFrame = { t: "batch" };
      if (c.sites.size) frame.sites = [...c.sites.values()];
      if (c.alerts.size) frame.alerts = [...c.alerts.values()];
      c.sites.clear();
      c.alerts.clear();
      this.#send(c, frame);
    }
  }

  #send(c: Client, frame: WebsiteFrame): void {
    if (c.socket.readyState !== 1) return;
    try {
      c.socket.send(JSON.stringify(frame));
    } catch (e) {
      this.options.logger.debug("send failed", { error: e as Error });
    }
  }

  #remove(c: Client): void {
    if (!this.#clients.delete(c)) return;
    // Feeds cost the database a cursor (and the stand-in a busy loop): none without clients.
    if (this.#clients.size === 0) this.#stopFeeds().catch(() => {});
  }

  async #stopFeeds(): Promise<void> {
    const feeds = this.#feeds;
    this.#feeds = [];
    clearInterval(this.#timer);
    await Promise.all(feeds.map((f) => f.stop()));
  }

  /** Closes every socket and stops the feeds. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const c of this.#clients) {
      try {
        c.socket.close(1001, "Server shutting down");
      } catch { /* closed */ }
    }
    this.#clients.clear();
    await this.#stopFeeds();
  }
}
