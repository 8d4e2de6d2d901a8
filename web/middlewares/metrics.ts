/** HTTP metrics: requests by method, route and status, and their durations. */
import type { MiddlewareHandler } from "hono";
import type { Registry } from "@iot/shared";

/** The metrics middleware; registers `web_http_requests_total` and `web_http_request_seconds`. */
export function httpMetrics(registry: Registry): MiddlewareHandler {
  const requests = registry.counter("web_http_requests_total", "HTTP requests by route and status");
  const seconds = registry.histogram("web_http_request_seconds", "HTTP request duration");
  return async (c, next) => {
    const t = performance.now();
    await next();
    requests.inc(1, { method: c.req.method, route: c.req.routePath, status: c.res.status });
    seconds.observe((performance.now() - t) / 1000);
  };
}
