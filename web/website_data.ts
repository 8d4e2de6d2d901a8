/** The dashboard's reads of website monitoring: rolling statistics, windows and alerts. */
import type { Db, Filter } from "mongodb";
import { COLLECTIONS, type WebsiteAlertDoc, type WebsiteMetricsDoc } from "@iot/shared";
import { toWireSite, toWireWebsiteAlert, type WireSite, type WireWebsiteAlert } from "./lib/website_wire.ts";

/** A window of one target, for the API. */
export interface WireWebsiteWindow {
  url: string;
  start: number;
  size_s: number;
  checks: number;
  uptime_pct: number;
  avg_ms: number | null;
  min_ms: number | null;
  max_ms: number | null;
  p95_ms: number | null;
}

/** Query of `WebsiteData.alerts()`. */
export interface WebsiteAlertQuery {
  state?: "firing" | "resolved";
  since?: Date;
  limit: number;
}

/** Website monitoring reads. */
export class WebsiteData {
  constructor(readonly db: Db) {}

  /** Every target's rolling statistics, by name. */
  async sites(): Promise<WireSite[]> {
    const docs = await this.db.collection<WebsiteMetricsDoc>(COLLECTIONS.websiteMetrics)
      .find({ kind: "rolling" }).limit(1000).toArray();
    return docs.map(toWireSite).sort((a, b) => a.name.localeCompare(b.name) || a.url.localeCompare(b.url));
  }

  /** Windows of `sizeS` seconds starting at or after `since`, oldest first. */
  async windows(sizeS: number, since: Date, limit: number): Promise<WireWebsiteWindow[]> {
    const docs = await this.db.collection<WebsiteMetricsDoc>(COLLECTIONS.websiteMetrics)
      .find({ kind: "window", size_s: sizeS, window_start: { $gte: since } })
      .sort({ window_start: -1 }).limit(limit).toArray();
    return docs.reverse().map((d) => ({
      url: d.url,
      start: new Date(d.window_start!).getTime(),
      size_s: d.size_s,
      checks: d.checks,
      uptime_pct: d.uptime_pct,
      avg_ms: d.avg_ms,
      min_ms: d.min_ms,
      max_ms: d.max_ms,
      p95_ms: d.p95_ms,
    }));
  }

  /** Website alerts, firing first, then the most recent. */
  async alerts(q: WebsiteAlertQuery): Promise<WireWebsiteAlert[]> {
    const filter: Filter<WebsiteAlertDoc> = {};
    if (q.state) filter.state = q.state;
    if (q.since) filter.updated_at = { $gte: q.since };
    const docs = await this.db.collection<WebsiteAlertDoc>(COLLECTIONS.websiteAlerts)
      .find(filter).sort({ last_seen: -1 }).limit(q.limit).toArray();
    const list = docs.map(toWireWebsiteAlert);
    return [...list.filter((a) => a.state === "firing"), ...list.filter((a) => a.state !== "firing")];
  }
}
