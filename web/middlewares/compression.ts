/** Response compression (gzip/deflate as the client accepts), except on paths that upgrade to WebSocket. */
import type { MiddlewareHandler } from "hono";
import { compress } from "hono/compress";

/** Options of `compression`. */
export interface CompressionOptions {
  /** Paths never compressed (WebSocket upgrades must pass untouched). */
  except: readonly string[];
}

/** The compression middleware. */
export function compression(options: CompressionOptions): MiddlewareHandler {
  const skip = new Set(options.except);
  const gzip = compress();
  return (c, next) => skip.has(c.req.path) ? next() : gzip(c, next);
}
