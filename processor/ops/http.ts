/** The processor's operations endpoint: `/metrics` (Prometheus text) and `/healthz` (JSON, 200 or 503). */
import { PROMETHEUS_CONTENT_TYPE, type Registry } from "@iot/shared";

/** What `/healthz` reports. */
export interface Health {
  consuming: boolean;
  mongo: boolean;
  partitions: number[];
}

/** Options of `serveOps`. */
export interface OpsServerOptions {
  hostname: string;
  port: number;
  registry: Registry;
  health: () => Health;
}

/** The request handler of the operations endpoint (testable without listening). */
export function opsHandler(o: Pick<OpsServerOptions, "registry" | "health">): (req: Request) => Response {
  return (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/metrics") {
      return new Response(o.registry.render(), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } });
    }
    if (path === "/healthz") {
      const h = o.health();
      const ok = h.consuming && h.mongo;
      return Response.json({ status: ok ? "ok" : "unavailable", ...h }, { status: ok ? 200 : 503 });
    }
    return Response.json({ error: "Not found" }, { status: 404 });
  };
}

/** Serves `/metrics` and `/healthz`. */
export function serveOps(o: OpsServerOptions): Deno.HttpServer {
  return Deno.serve({ hostname: o.hostname, port: o.port, onListen: () => {} }, opsHandler(o));
}
