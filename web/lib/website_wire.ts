/**
 * Website statistics and alerts as sent to the browser (JSON-friendly: times
 * in epoch ms). Alerts share their lifecycle fields with sensor alerts
 * (`wire.ts`). Browser-safe: type-only imports from shared.
 */
import type { WebsiteAlertDoc, WebsiteMetricsDoc, WebsiteStats } from "../../shared/website.ts";
import { ms, toWireLifecycle, type WireAlertLifecycle } from "./wire.ts";

/** Response-time and availability statistics, as `WebsiteStats` stores them. */
export type WireWebsiteStats = WebsiteStats;

/** A monitored target's rolling statistics and its recent checks. */
export interface WireSite extends Omit<WireWebsiteStats, "up"> {
  /** The url. */
  id: string;
  url: string;
  name: string;
  category: string;
  is_up: boolean;
  last_check: number;
  last_status_code: number | null;
  last_response_ms: number;
  last_error: string | null;
  /** Recent checks, oldest first: [event time, response ms or null, up]. */
  recent: [number, number | null, boolean][];
  updated: number;
}

/** A website alert. */
export interface WireWebsiteAlert extends WireAlertLifecycle {
  url: string;
  name: string;
  rule: string;
}

/** A frame of the websites WebSocket. */
export type WebsiteFrame =
  | { t: "hello"; now: number }
  | { t: "batch"; sites?: WireSite[]; alerts?: WireWebsiteAlert[] };

/** The rolling `website_metrics` document of a target, for the browser. */
export function toWireSite(d: WebsiteMetricsDoc): WireSite {
  return {
    id: d.url,
    url: d.url,
    name: d.name,
    category: d.category,
    is_up: d.last_is_up,
    checks: d.checks,
    uptime_pct: d.uptime_pct,
    avg_ms: d.avg_ms,
    min_ms: d.min_ms,
    max_ms: d.max_ms,
    p95_ms: d.p95_ms,
    last_check: ms(d.last_check) ?? 0,
    last_status_code: d.last_status_code,
    last_response_ms: d.last_response_ms,
    last_error: d.last_error,
    recent: (d.recent ?? []).map((c) => [c.t, c.ms, c.up]),
    updated: ms(d.updated_at) ?? 0,
  };
}

/** A `website_alerts` document, for the browser. */
export function toWireWebsiteAlert(d: WebsiteAlertDoc): WireWebsiteAlert {
  return { ...toWireLifecycle(d), url: d.url, name: d.name, rule: d.rule };
}
