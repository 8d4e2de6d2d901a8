/**
 * Cross-site request refusal: a request that changes something (any method
 * but GET and HEAD) from another origin than the dashboard's own, or one of
 * the allowed origins, is a 403. Browsers always send `Origin` on such
 * requests; tools that send none (curl) are not cross-site.
 */
import type { MiddlewareHandler } from "hono";
import { HttpError } from "../http_error.ts";

/** Whether a request's `Origin` may act on the dashboard at `requestUrl`. */
export function originAllowed(origin: string | undefined, requestUrl: string, allowed: ReadonlySet<string>): boolean {
  return origin === undefined || origin === new URL(requestUrl).origin || allowed.has(origin);
}

/** Options of `csrf`. */
export interface CsrfOptions {
  /** Origins besides the dashboard's own that may post. */
  allowedOrigins?: readonly string[];
}

/** The cross-site refusal middleware. */
export function csrf(options: CsrfOptions = {}): MiddlewareHandler {
  const allowed = new Set(options.allowedOrigins ?? []);
  return (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    if (!originAllowed(c.req.header("origin"), c.req.url, allowed)) {
      throw new HttpError(403, "Cross-origin request refused", { json: true });
    }
    return next();
  };
}
