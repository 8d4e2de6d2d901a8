/**
 * HTTP uptime monitoring: the check message published to `website-checks`,
 * its validator, and the MongoDB documents of website statistics and alerts.
 */
import type { AlertBase } from "./documents.ts";

/** One HTTP check of a monitored target, as published to `website-checks` (JSON, keyed by url). */
export interface WebsiteCheck {
  url: string;
  /** Display name of the target. */
  name: string;
  /** Free-form group of the target (e.g. "api", "docs"). */
  category: string;
  /** When the check started, ISO-8601 UTC with a `Z` suffix. */
  timestamp: string;
  /** Time until the response body was read, or until the failure. */
  response_time_ms: number;
  /** HTTP status, null when no response arrived (refused, timeout, DNS). */
  status_code: number | null;
  /** True for a 2xx or 3xx response. */
  is_up: boolean;
  /** Bytes of the response body, null without a response. */
  content_length: number | null;
  /** Why the check failed, null when it is up. */
  error: string | null;
}

/** Outcome of decoding a website check. */
export type DecodeCheckResult =
  | { ok: true; check: WebsiteCheck; eventTime: number }
  | { ok: false; detail: string };

/** Largest accepted check message in bytes. */
export const MAX_CHECK_BYTES = 16 * 1024;

const ISO_UTC_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;
const decoder = new TextDecoder("utf-8", { fatal: true });

function isNullableNumber(v: unknown, integer: boolean): boolean {
  return v === null || (typeof v === "number" && Number.isFinite(v) && v >= 0 && (!integer || Number.isInteger(v)));
}

/** Checks a parsed JSON value against the check schema; returns the typed check or the first problem. */
export function validateCheck(data: unknown): DecodeCheckResult {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return { ok: false, detail: "A check must be a JSON object" };
  }
  const d = data as Record<string, unknown>;
  if (typeof d.url !== "string" || !/^https?:\/\/\S+$/.test(d.url) || d.url.length > 2048) {
    return { ok: false, detail: "Field url must be an http(s) URL of at most 2048 characters" };
  }
  for (const f of ["name", "category"] as const) {
    if (typeof d[f] !== "string" || (d[f] as string).length > 200) {
      return { ok: false, detail: `Field ${f} must be a string of at most 200 characters` };
    }
  }
  if (typeof d.timestamp !== "string" || !ISO_UTC_RE.test(d.timestamp)) {
    return { ok: false, detail: "Field timestamp must be an ISO-8601 UTC time ending in Z" };
  }
  const eventTime = Date.parse(d.timestamp);
  if (!Number.isFinite(eventTime)) return { ok: false, detail: "Field timestamp is not a valid time" };
  if (typeof d.response_time_ms !== "number" || !Number.isFinite(d.response_time_ms) || d.response_time_ms < 0) {
    return { ok: false, detail: "Field response_time_ms must be a number of at least 0" };
  }
  if (!isNullableNumber(d.status_code, true) || (typeof d.status_code === "number" && d.status_code > 999)) {
    return { ok: false, detail: "Field status_code must be an HTTP status or null" };
  }
  if (typeof d.is_up !== "boolean") return { ok: false, detail: "Field is_up must be true or false" };
  if (!isNullableNumber(d.content_length, true)) {
    return { ok: false, detail: "Field content_length must be a whole number of at least 0 or null" };
  }
  if (d.error !== null && typeof d.error !== "string") {
    return { ok: false, detail: "Field error must be a string or null" };
  }
  const check: WebsiteCheck = {
    url: d.url,
    name: d.name as string,
    category: d.category as string,
    timestamp: d.timestamp,
    response_time_ms: d.response_time_ms,
    status_code: d.status_code as number | null,
    is_up: d.is_up,
    content_length: d.content_length as number | null,
    error: d.error as string | null,
  };
  return { ok: true, check, eventTime };
}

/** Decodes a check from a Kafka record value. */
export function decodeCheck(bytes: Uint8Array | null): DecodeCheckResult {
  if (bytes === null) return { ok: false, detail: "The record has no value" };
  if (bytes.length > MAX_CHECK_BYTES) return { ok: false, detail: `The value exceeds ${MAX_CHECK_BYTES} bytes` };
  let data: unknown;
  try {
    data = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    return { ok: false, detail: `The value is not UTF-8 JSON: ${(e as Error).message}` };
  }
  return validateCheck(data);
}

/** Response-time and availability statistics over a set of checks. */
export interface WebsiteStats {
  checks: number;
  /** Checks that were up. */
  up: number;
  /** Up checks in percent of all checks. */
  uptime_pct: number;
  /** Response times of checks that got a response; null when none did. */
  avg_ms: number | null;
  min_ms: number | null;
  max_ms: number | null;
  p95_ms: number | null;
}

/** Kind of a `website_metrics` document: the rolling last-N checks, or one time window. */
export type WebsiteMetricsKind = "rolling" | "window";

/** One recent check, kept in the rolling document so a restarted processor resumes exactly. */
export interface RecentCheck {
  /** Event time, epoch ms. */
  t: number;
  /** Response time in ms, null without a response. */
  ms: number | null;
  up: boolean;
}

/** A document of `website_metrics`: `_id` is `url|rolling` or `url|window_start_ms|size_s`. */
export interface WebsiteMetricsDoc extends WebsiteStats {
  _id: string;
  kind: WebsiteMetricsKind;
  url: string;
  name: string;
  category: string;
  /** Window size in seconds; 0 for the rolling document. */
  size_s: number;
  window_start?: Date;
  window_end?: Date;
  /** The last check counted. */
  last_check: Date;
  last_is_up: boolean;
  last_status_code: number | null;
  last_response_ms: number;
  last_error: string | null;
  /** Rolling document: the last checks (oldest first). Window document: the response times counted. */
  recent?: RecentCheck[];
  samples?: number[];
  updated_at: Date;
}

/** The website alert rules. */
export type WebsiteAlertRule = "HIGH_RESPONSE_TIME" | "LOW_UPTIME" | "WEBSITE_DOWN";

/** A website alert as stored in `website_alerts`: the lifecycle fields of every alert, subject `url`. */
export interface WebsiteAlertDoc extends AlertBase<WebsiteAlertRule> {
  url: string;
  name: string;
  category: string;
}
