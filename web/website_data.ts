/** The dashboard's reads of website monitoring: rolling statistics, windows, history and alerts. */
import type { Db, Filter } from "mongodb";
import { COLLECTIONS, type WebsiteAlertDoc, type WebsiteMetricsDoc } from "@iot/shared";
import {
  toWireSite,
  toWireWebsiteAlert,
  type WireSite,
  type WireWebsiteAlert,
  type WireWebsiteStats,
} from "./lib/website_wire.ts";
import { findAlerts, type LifecycleQuery } from "./alert_query.ts";
import { summarizeWindows, type WebsiteHistory } from "./website_history.ts";

/** A window of one target, for the API. */
export interface WireWebsiteWindow extends WireWebsiteStats {
  url: string;
  start: number;
  size_s: number;
}

/** Query of `WebsiteData.alerts()`. */
export interface WebsiteAlertQuery extends LifecycleQuery {
  url?: string;
}

/** Website monitoring reads. */
export class WebsiteData {
  constructor(readonly db: Db) {}

  #metrics() {
    return this.db.collection<WebsiteMetricsDoc>(COLLECTIONS.websiteMetrics);
  }

  /** Every target's rolling statistics, by name. */
  async sites(): Promise<WireSite[]> {
    const docs = await this.#metrics().find({ kind: "rolling" }).limit(1000).toArray();
    return docs.map(toWireSite).sort((a, b) => a.name.localeCompare(b.name) || a.url.localeCompare(b.url));
  }

  /** One target's rolling statistics; undefined for a url that is not monitored. */
  async site(url: string): Promise<WireSite | undefined> {
    const doc = await this.#metrics().findOne({ kind: "rolling", url });
    return doc ? toWireSite(doc) : undefined;
  }

  /** Windows of `sizeS` seconds starting at or after `since`, oldest first. */
  async windows(sizeS: number, since: Date, limit: number): Promise<WireWebsiteWindow[]> {
    const docs = await this.#metrics()
      .find({ kind: "window", size_s: sizeS, window_start: { $gte: since } })
      .sort({ window_start: -1 }).limit(limit).toArray();
    return docs.reverse().map((d) => ({
      url: d.url,
      start: new Date(d.window_start!).getTime(),
      size_s: d.size_s,
      checks: d.checks,
      up: d.up,
      uptime_pct: d.uptime_pct,
      avg_ms: d.avg_ms,
      min_ms: d.min_ms,
      max_ms: d.max_ms,
      p95_ms: d.p95_ms,
    }));
  }

  /** A target's statistics and hourly history over the windows that start at or after `since`. */
  async history(url: string, since: Date): Promise<WebsiteHistory> {
    const docs = await this.#metrics()
      .find({ kind: "window", url, window_start: { $gte: since } }, { projection: { recent: 0 } })
      .sort({ window_start: 1 }).limit(50_000).toArray();
    return summarizeWindows(docs.map((d) => ({
      start: new Date(d.window_start!).getTime(),
      size_s: d.size_s,
      checks: d.checks,
      up: d.up,
      avg_ms: d.avg_ms,
      min_ms: d.min_ms,
      max_ms: d.max_ms,
      samples: d.samples,
    })));
  }

  /** Website alerts, firing first, then the most recent. */
  async alerts(q: WebsiteAlertQuery): Promise<WireWebsiteAlert[]> {
    const extra: Filter<WebsiteAlertDoc> = q.url ? { url: q.url } : {};
    const col = this.db.collection<WebsiteAlertDoc>(COLLECTIONS.websiteAlerts);
    const list = await findAlerts(col, q, extra, toWireWebsiteAlert);
    return [...list.filter((a) => a.state === "firing"), ...list.filter((a) => a.state !== "firing")];
  }

  /** The urls with a firing alert or an alert seen at or after `since`. */
  async urlsWithAlerts(since: Date): Promise<Set<string>> {
    const docs = await this.db.collection<WebsiteAlertDoc>(COLLECTIONS.websiteAlerts)
      .find({ $or: [{ state: "firing" }, { last_seen: { $gte: since } }] }, { projection: { url: 1 } })
      .limit(10_000).toArray();
    return new Set(docs.map((d) => d.url));
  }
}
