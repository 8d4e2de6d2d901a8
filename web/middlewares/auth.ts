/**
 * Who may change things. With `WEB_AUTH_TOKEN` set, a write needs the token
 * (`Authorization: Bearer`, or the `token` field of a form). Without a token,
 * writes are accepted from this machine only (loopback clients): anyone else
 * on the network gets a 403 that says why.
 */
import type { Context, MiddlewareHandler } from "hono";
import { HttpError } from "../http_error.ts";

/** Compares two strings in time independent of where they differ. */
export function safeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Whether an address is the local machine (127.0.0.0/8, ::1, or IPv4-mapped loopback). */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * The client's address from Deno's serve info; undefined for requests made in
 * process (`app.request()`), which are local by construction.
 */
export function remoteHostname(c: Context): string | undefined {
  const addr = (c.env as Partial<Deno.ServeHandlerInfo> | undefined)?.remoteAddr;
  return addr && "hostname" in addr ? addr.hostname : undefined;
}

/** Options of `localWritesOnly`. */
export interface LocalWritesOptions {
  /** The configured token; when set, the token guards writes instead. */
  token?: string;
}

/**
 * Refuses any request but GET and HEAD from a non-loopback client when no
 * token is configured (403 JSON).
 */
export function localWritesOnly(options: LocalWritesOptions): MiddlewareHandler {
  return (c, next) => {
    if (options.token || c.req.method === "GET" || c.req.method === "HEAD") return next();
    const host = remoteHostname(c);
    if (host !== undefined && !isLoopback(host)) {
      throw new HttpError(
        403,
        "Write actions are accepted from this machine only: set WEB_AUTH_TOKEN to allow them from the network",
        { json: true },
      );
    }
    return next();
  };
}

/** Options of `requireToken`. */
export interface RequireTokenOptions {
  /** The configured token; without one, nothing is required. */
  token?: string;
  /** Where the client gives it: the bearer header (API) or the `token` form field (no-JavaScript forms). */
  from: "bearer" | "form";
  /** The 401 message. */
  message: string;
}

/** Requires the token on a route (401 otherwise). */
export function requireToken(options: RequireTokenOptions): MiddlewareHandler {
  const token = options.token || undefined;
  return async (c, next) => {
    if (!token) return next();
    let given: string | undefined;
    if (options.from === "bearer") {
      const auth = c.req.header("authorization");
      given = auth?.startsWith("Bearer ") ? auth.slice(7) : undefined;
    } else {
      const form = await c.req.parseBody();
      given = typeof form.token === "string" ? form.token : undefined;
    }
    if (given === undefined || !safeEqual(given, token)) {
      const headers: Record<string, string> = options.from === "bearer"
        ? { "WWW-Authenticate": 'Bearer realm="dashboard"' }
        : {};
      throw new HttpError(401, options.message, { headers });
    }
    return next();
  };
}
