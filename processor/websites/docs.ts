/** The `website_metrics` documents of a url: the rolling statistics and one per tumbling window. */
import type { RecentCheck, WebsiteCheck, WebsiteMetricsDoc } from "@iot/shared";
import { summarize } from "./stats.ts";

/** One tumbling window of a url in memory. */
export interface WindowState {
  sizeS: number;
  start: number;
  checks: number;
  up: number;
  samples: number[];
}

/** A url's state in memory. */
export interface UrlState {
  url: string;
  name: string;
  category: string;
  recent: RecentCheck[];
  /** Event time of the last counted check; -1 before the first. */
  lastT: number;
  last?: WebsiteCheck;
  windows: Map<string, WindowState>;
}

/** The `_id` of a url's rolling document. */
export function rollingId(url: string): string {
  return `${url}|rolling`;
}

/** The `_id` of a url's window document. */
export function windowId(url: string, start: number, sizeS: number): string {
  return `${url}|${start}|${sizeS}`;
}

/** The rolling document of a url (with its last checks). */
export function rollingDoc(st: UrlState, now: Date): WebsiteMetricsDoc {
  const last = st.last!;
  return {
    _id: rollingId(st.url),
    kind: "rolling",
    url: st.url,
    name: st.name,
    category: st.category,
    size_s: 0,
    ...summarize(st.recent),
    last_check: new Date(st.lastT),
    last_is_up: last.is_up,
    last_status_code: last.status_code,
    last_response_ms: last.response_time_ms,
    last_error: last.error,
    recent: [...st.recent],
    updated_at: now,
  };
}

/** The document of one window of a url (with the response times counted). */
export function windowDoc(st: UrlState, w: WindowState, now: Date): WebsiteMetricsDoc {
  const last = st.last!;
  const samples = [...w.samples].sort((a, b) => a - b);
  const stats = summarize(samples.map((ms) => ({ ms, up: true })));
  return {
    _id: windowId(st.url, w.start, w.sizeS),
    kind: "window",
    url: st.url,
    name: st.name,
    category: st.category,
    size_s: w.sizeS,
    window_start: new Date(w.start),
    window_end: new Date(w.start + w.sizeS * 1000),
    ...stats,
    checks: w.checks,
    up: w.up,
    uptime_pct: w.checks ? Math.round((w.up / w.checks) * 1000) / 10 : 100,
    last_check: new Date(st.lastT),
    last_is_up: last.is_up,
    last_status_code: last.status_code,
    last_response_ms: last.response_time_ms,
    last_error: last.error,
    samples: w.samples,
    updated_at: now,
  };
}
