/**
 * Static files under `/static/`: safe relative names only (no `..`, no hidden
 * files), a content type by extension, and caching: content-hashed bundles
 * under `_build/` for a year, everything else revalidated.
 */
import type { MiddlewareHandler } from "hono";

const CONTENT_TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  png: "image/png",
  svg: "image/svg+xml",
  ico: "image/x-icon",
  json: "application/json",
  txt: "text/plain; charset=utf-8",
};

const SAFE_PATH_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;

/** Options of `staticFiles`. */
export interface StaticFilesOptions {
  /** The folder served. */
  dir: string;
  /** The URL prefix, e.g. `/static/`. */
  prefix: string;
  /** Awaited before serving a file of `_build/` (the bundles are built on first use). */
  beforeBuild?: () => Promise<unknown>;
}

/** The static-files handler (a 404 text for anything it does not serve). */
export function staticFiles(options: StaticFilesOptions): MiddlewareHandler {
  return async (c) => {
    const rel = c.req.path.startsWith(options.prefix)
      ? decodeURIComponent(c.req.path.slice(options.prefix.length))
      : "";
    if (!SAFE_PATH_RE.test(rel)) return c.text("Not found", 404);
    const built = rel.startsWith("_build/");
    if (built) await options.beforeBuild?.();
    let body: Uint8Array;
    try {
      body = await Deno.readFile(`${options.dir}/${rel}`);
    } catch {
      return c.text("Not found", 404);
    }
    const ext = rel.split(".").pop() ?? "";
    c.header("content-type", CONTENT_TYPES[ext] ?? "application/octet-stream");
    c.header("cache-control", built ? "public, max-age=31536000, immutable" : "no-cache");
    return c.body(body as Uint8Array<ArrayBuffer>);
  };
}
