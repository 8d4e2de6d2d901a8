/** One HTTP check of a target: never throws, always returns a `WebsiteCheck`. */
import type { WebsiteCheck } from "@iot/shared";
import type { WebsiteTarget } from "./targets.ts";

/** Options of `checkTarget`. */
export interface CheckOptions {
  /** Aborts the check early (shutdown); the check then reports "Stopped". */
  signal?: AbortSignal;
  /** Injectable clock for tests (epoch ms). */
  now?: () => number;
}

function describe(e: unknown, timedOut: boolean, timeoutS: number): string {
  if (timedOut) return `Timed out after ${timeoutS * 1000} ms`;
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === "AbortError") return "Stopped";
  const text = `${err?.message ?? String(e)} ${err?.cause?.message ?? ""}`;
  if (/refused/i.test(text)) return "Connection refused";
  if (/dns|lookup|not known|ENOTFOUND/i.test(text)) return `DNS lookup failed: ${err?.message ?? ""}`.trim();
  if (/reset/i.test(text)) return "Connection reset";
  return (err?.message ?? String(e)).slice(0, 300);
}

/**
 * Requests `target.url` (GET, redirects followed) with the target's timeout
 * covering the whole response body. A 2xx or 3xx answer is up; anything else,
 * a refused connection or a timeout is down with a reason in `error`.
 */
export async function checkTarget(target: WebsiteTarget, options: CheckOptions = {}): Promise<WebsiteCheck> {
  const now = options.now ?? Date.now;
  const started = now();
  const t0 = performance.now();
  const timeout = AbortSignal.timeout(Math.round(target.timeoutS * 1000));
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const base = {
    url: target.url,
    name: target.name,
    category: target.category,
    timestamp: new Date(started).toISOString(),
  };
  try {
    const res = await fetch(target.url, { signal, redirect: "follow", headers: { "user-agent": "iot-uptime/1" } });
    let length = 0;
    if (res.body) {
      for await (const chunk of res.body) length += chunk.byteLength;
    }
    const ms = Math.round((performance.now() - t0) * 10) / 10;
    const up = res.status >= 200 && res.status < 400;
    return {
      ...base,
      response_time_ms: ms,
      status_code: res.status,
      is_up: up,
      content_length: length,
      error: up ? null : `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`,
    };
  } catch (e) {
    const ms = Math.round((performance.now() - t0) * 10) / 10;
    return {
      ...base,
      response_time_ms: ms,
      status_code: null,
      is_up: false,
      content_length: null,
      error: describe(e, timeout.aborted, target.timeoutS),
    };
  }
}

/**
 * The checker's log line of one check, in the reference's style:
 * `Shop (http://127.0.0.1:8080/) - UP - 0.12 s`, or for a failed check
 * `Shop (http://127.0.0.1:8080/) - DOWN - 0.01 s - HTTP 503 Service Unavailable`.
 *
 * @example
 * ```ts
 * logger.info(checkLine(await checkTarget(target)));
 * ```
 */
export function checkLine(check: WebsiteCheck): string {
  const head = `${check.name} (${check.url}) - ${check.is_up ? "UP" : "DOWN"} - ${
    (check.response_time_ms / 1000).toFixed(2)
  } s`;
  return check.is_up ? head : `${head} - ${check.error ?? `HTTP ${check.status_code}`}`;
}
