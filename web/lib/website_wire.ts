/** Website statistics and alerts as sent to the browser (JSON-friendly: times in epoch ms). */
import type { WebsiteAlertDoc, WebsiteMetricsDoc } from "@iot/shared";

/** A monitored target's rolling statistics and its recent checks. */
export interface WireSite {
  /** The url. */
  id: string;
  url: string;
  name: string;
  category: string;
  is_up: boolean;
  checks: number;
  uptime_pct: number;
  avg_ms: number | null;
  min_ms: number | null;
  max_ms: number | null;
  p95_ms: number | null;
  last_check: number;
  last_status_code: number | null;
  last_response_ms: number;
  last_error: string | null;
  /** Recent checks, oldest first: [event time, response ms or null, up]. */
  recent: [number, number | null, boolean][];
  updated: number;
}

/** A website alert. */
export interface WireWebsiteAlert {
  id: string;
  url: string;
  name: string;
  rule: string;
  severity: string;
  state: string;
  message: string;
  value: number;
  threshold: number;
  first_seen: number;
  last_seen: number;
  resolved_at?: number;
  count: number;
  acknowledged: boolean;
  updated: number;
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
    last_check: new Date(d.last_check).getTime(),
    last_status_code: d.last_status_code,
    last_response_ms: d.last_response_ms,
    last_error: d.last_error,
    recent: (d.recent ?? []).map((c) => [c.t, c.ms, c.up]),
    updated: new Date(d.updated_at).getTime(),
  };
}

/** A `website_alerts` document, for the browser. */
export function toWireWebsiteAlert(d: WebsiteAlertDoc): WireWebsiteAlert {
  return {
    id: d._id,
    url: d.url,
    name: d.name,
    rule: d.rule,
    severity: d.severity,
    state: d.state,
    message: d.message,
    value: d.value,
    threshold: d.threshold,
    first_seen: new Date(d.first_seen).getTime(),
    last_seen: new Date(d.last_seen).getTime(),
    resolved_at: d.resolved_at ? new Date(d.resolved_at).getTime() : undefined,
    count: d.count,
    acknowledged: d.acknowledged === true,
    updated: new Date(d.updated_at).getTime(),
  };
}
