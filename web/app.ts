/**
 * The dashboard's Hono application: the middleware chain and the route table,
 * nothing else. Middlewares are in `middlewares/` (one a file), pages and
 * their APIs in `routes/`, the live fan-out in `live/`. `createApp` wires it
 * without listening, so tests can call `app.request()`.
 */
import { type Context, Hono } from "hono";
import { logger as honoLogger } from "hono/logger";
import type { Db } from "mongodb";
import { type Logger, PROCESSOR_GROUP, PROMETHEUS_CONTENT_TYPE, Registry, type SensorTypes, TOPICS } from "@iot/shared";
import { defaultClientAssets, STATIC_DIR } from "./assets.ts";
import { DashboardData } from "./data.ts";
import type { ClientAssets } from "./islands_runtime/server.ts";
import "./islands_manifest.ts";
import { KafkaMonitor } from "./kafka_monitor.ts";
import { LiveHub } from "./live/hub.ts";
import { sensorFeed, type SensorSubscription } from "./live/sensor_feed.ts";
import { websiteFeed } from "./live/website_feed.ts";
import { localWritesOnly, requireToken } from "./middlewares/auth.ts";
import { compression } from "./middlewares/compression.ts";
import { csp } from "./middlewares/csp.ts";
import { csrf, originAllowed } from "./middlewares/csrf.ts";
import { errorHandler, notFoundHandler } from "./middlewares/errors.tsx";
import { httpMetrics } from "./middlewares/metrics.ts";
import { staticFiles } from "./middlewares/static_files.ts";
import { pageRenderer } from "./render.ts";
import type { ApiHandler, Handler, PageRoute, RouteContext } from "./routes/context.ts";
import * as alertAckForm from "./routes/alerts/[id]/ack.ts";
import AlertsPage from "./routes/alerts.tsx";
import * as alertAckApi from "./routes/api/alert_ack.ts";
import * as alertsApi from "./routes/api/alerts.ts";
import * as eventsApi from "./routes/api/events.ts";
import * as silenceDeleteApi from "./routes/api/silence_delete.ts";
import * as silencesApi from "./routes/api/silences.ts";
import { ParamError } from "./routes/params.ts";
import * as openapiApi from "./routes/api/openapi.ts";
import * as overviewApi from "./routes/api/overview.ts";
import * as pipelineApi from "./routes/api/pipeline.ts";
import * as sensorsApi from "./routes/api/sensors.ts";
import * as tilesApi from "./routes/api/tiles.ts";
import * as vocabularyApi from "./routes/api/vocabulary.ts";
import * as websiteApi from "./routes/api/website.ts";
import * as websitesApi from "./routes/api/websites.ts";
import * as windowsApi from "./routes/api/windows.ts";
import * as healthz from "./routes/healthz.ts";
import OverviewPage from "./routes/index.tsx";
import { liveSocket } from "./routes/live_socket.ts";
import PipelinePage from "./routes/pipeline.tsx";
import SensorPage from "./routes/sensors/[id].tsx";
import WebsitesPage from "./routes/websites.tsx";
import { WebsiteData } from "./website_data.ts";

/** Options of `createApp`. */
export interface AppOptions {
  db: Db;
  logger: Logger;
  /** Shared metrics registry (a new one when absent). */
  registry?: Registry;
  /**
   * When set, writes (acknowledging) require `Authorization: Bearer <token>` (or the form field);
   * when not, writes are accepted from loopback clients only.
   */
  authToken?: string;
  /** Origins besides the dashboard's own that may open the WebSocket and post forms. */
  allowedOrigins?: string[];
  /** Described sensor types (`SENSOR_TYPES_FILE`; default: the built-in six). */
  types?: SensorTypes;
  /** Kafka stats; "Kafka not configured" when absent. */
  kafka?: KafkaMonitor;
  /** "polling" skips change streams (default "auto"). */
  liveMode?: "auto" | "polling";
  /** Live fan-out tuning (tests). */
  flushMs?: number;
  pollIntervalMs?: number;
  /** Client bundles; built with esbuild on first use when absent. */
  assets?: () => Promise<ClientAssets>;
}

/** The wired application. */
export interface WebApp {
  app: Hono;
  /** The sensor dashboard's live hub (`/ws`). */
  hub: LiveHub<SensorSubscription>;
  /** The websites page's live hub (`/ws/websites`). */
  websiteHub: LiveHub<Record<never, never>>;
  data: DashboardData;
  registry: Registry;
  kafka: KafkaMonitor;
  /** Stops the live feeds and closes sockets and the Kafka client (not the Mongo client). */
  close(): Promise<void>;
}

/** One JSON API route: its method, its Hono path, and the module that owns its handler (and `PARAMS`). */
export type ApiRouteEntry =
  | { method: "GET"; path: string; route: { GET: ApiHandler; PARAMS?: Record<string, unknown> } }
  | { method: "POST"; path: string; route: { POST: ApiHandler } }
  | { method: "DELETE"; path: string; route: { DELETE: ApiHandler } };

/** The JSON API's route table; POST and DELETE routes need the token when one is set. */
export const API_ROUTES: readonly ApiRouteEntry[] = [
  { method: "GET", path: "/api/openapi.json", route: openapiApi },
  { method: "GET", path: "/api/overview", route: overviewApi },
  { method: "GET", path: "/api/tiles", route: tilesApi },
  { method: "GET", path: "/api/windows", route: windowsApi },
  { method: "GET", path: "/api/vocabulary", route: vocabularyApi },
  { method: "GET", path: "/api/incidents", route: alertsApi },
  { method: "POST", path: "/api/incidents/:id/ack", route: alertAckApi },
  { method: "GET", path: "/api/events", route: eventsApi },
  { method: "GET", path: "/api/silences", route: silencesApi },
  { method: "POST", path: "/api/silences", route: silencesApi },
  { method: "DELETE", path: "/api/silences/:id", route: silenceDeleteApi },
  // The names before incidents: the same handlers.
  { method: "GET", path: "/api/alerts", route: alertsApi },
  { method: "POST", path: "/api/alerts/:id/ack", route: alertAckApi },
  { method: "GET", path: "/api/sensors/:id", route: sensorsApi },
  { method: "GET", path: "/api/pipeline", route: pipelineApi },
  { method: "GET", path: "/api/websites", route: websitesApi },
  { method: "GET", path: "/api/website/:url{.+}", route: websiteApi },
];

/** Paths that upgrade to a WebSocket. */
const SOCKET_PATHS = ["/ws", "/ws/websites"];

/** Creates the application. */
export function createApp(options: AppOptions): WebApp {
  const log = options.logger;
  const registry = options.registry ?? new Registry();
  const data = new DashboardData(options.db, { types: options.types });
  const websites = new WebsiteData(options.db);
  const kafka = options.kafka ?? new KafkaMonitor({ topic: TOPICS.readings, group: PROCESSOR_GROUP, logger: log });
  const live = { db: options.db, prefer: options.liveMode, flushMs: options.flushMs };
  const hub = new LiveHub({
    ...live,
    feed: sensorFeed,
    logger: log.child("live"),
    registry,
    pollIntervalMs: options.pollIntervalMs,
  });
  const websiteHub = new LiveHub({
    ...live,
    feed: websiteFeed,
    logger: log.child("live-websites"),
    pollIntervalMs: options.pollIntervalMs,
  });
  const assets = options.assets ?? defaultClientAssets;
  const authToken = options.authToken || undefined;
  const allowed = new Set(options.allowedOrigins ?? []);
  const render = pageRenderer({ assets, logger: log });
  const wsRejected = registry.counter("web_ws_rejected_total", "WebSocket upgrades refused (origin)");

  const context = (c: Context): RouteContext => ({
    data,
    websites,
    kafka,
    live: hub,
    logger: log,
    url: new URL(c.req.url),
    params: c.req.param() as Record<string, string>,
    query: c.req.queries() ?? {},
    authRequired: authToken !== undefined,
    json: async () => {
      try {
        return await c.req.json();
      } catch {
        throw new ParamError("The request body must be JSON");
      }
    },
  });
  const page = (route: PageRoute) => async (c: Context) => render(c, await route(context(c)));
  const api = (handler: ApiHandler) => async (c: Context) => c.json(await handler(context(c)));
  const handle = (handler: Handler) => (c: Context) => handler(context(c));
  const socket = (target: Pick<LiveHub<unknown>, "connect">) =>
    liveSocket(target, {
      originAllowed: (origin, url) => originAllowed(origin, url, allowed),
      onRefused: () => wsRejected.inc(),
      logger: log,
    });

  const app = new Hono();
  app.use("*", httpMetrics(registry));
  app.use("*", honoLogger((line) => log.debug(line.trim())));
  app.use("*", csp());
  app.use("*", compression({ except: SOCKET_PATHS }));
  app.use("*", csrf({ allowedOrigins: options.allowedOrigins }));
  app.use("*", localWritesOnly({ token: authToken }));
  app.onError(errorHandler({ logger: log, render }));
  app.notFound(notFoundHandler({ logger: log, render }));

  // Pages (Fresh-style files under routes/).
  app.get("/", page(OverviewPage));
  app.get("/alerts", page(AlertsPage));
  app.post(
    "/alerts/:id/ack",
    requireToken({ token: authToken, from: "form", message: "A valid token is required to acknowledge" }),
    handle(alertAckForm.POST),
  );
  app.get("/pipeline", page(PipelinePage));
  app.get("/sensors/:id", page(SensorPage));
  app.get("/websites", page(WebsitesPage));

  // Operations and files.
  app.get("/healthz", handle(healthz.GET));
  app.get("/metrics", (c) => c.body(registry.render(), 200, { "content-type": PROMETHEUS_CONTENT_TYPE }));
  app.get("/static/*", staticFiles({ dir: STATIC_DIR, prefix: "/static/", beforeBuild: assets }));

  // Live updates.
  app.get("/ws", socket(hub));
  app.get("/ws/websites", socket(websiteHub));

  // JSON API (described in routes/api/openapi.json).
  const bearer = requireToken({
    token: authToken,
    from: "bearer",
    message: "A valid bearer token is required to acknowledge",
  });
  for (const r of API_ROUTES) {
    if (r.method === "GET") app.get(r.path, api(r.route.GET));
    else if (r.method === "POST") app.post(r.path, bearer, api(r.route.POST));
    else app.delete(r.path, bearer, api(r.route.DELETE));
  }

  return {
    app,
    hub,
    websiteHub,
    data,
    registry,
    kafka,
    close: async () => {
      await hub.stop();
      await websiteHub.stop();
      await kafka.close();
    },
  };
}
