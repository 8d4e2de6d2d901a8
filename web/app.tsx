/**
 * The dashboard's Hono application: pages, JSON API, WebSocket, static files,
 * `/healthz` and `/metrics`. `createApp` wires it without listening, so tests
 * can call `app.request()`.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { compress } from "hono/compress";
import { HTTPException } from "hono/http-exception";
import { logger as honoLogger } from "hono/logger";
import { NONCE, secureHeaders } from "hono/secure-headers";
import type { Db } from "mongodb";
import type { VNode } from "preact";
import { type Logger, PROCESSOR_GROUP, PROMETHEUS_CONTENT_TYPE, Registry, TOPICS } from "@iot/shared";
import { ParamError, parseParams, SENSOR_ID_RE } from "./api/params.ts";
import { ErrorPage } from "./components/ErrorPage.tsx";
import { DashboardData } from "./data.ts";
import { buildClient } from "./islands_runtime/build.ts";
import { type ClientAssets, renderPage } from "./islands_runtime/server.ts";
import "./islands_manifest.ts";
import { KafkaMonitor } from "./kafka_monitor.ts";
import { LiveHub } from "./live/hub.ts";
import AlertsPage from "./routes/alerts.tsx";
import { NotFoundError, type PageRoute, type RouteContext } from "./routes/context.ts";
import OverviewPage from "./routes/index.tsx";
import PipelinePage from "./routes/pipeline.tsx";
import SensorPage from "./routes/sensors/[id].tsx";
import WebsitesPage from "./routes/websites.tsx";
import { WebsiteHub } from "./live/website_hub.ts";
import { WebsiteData } from "./website_data.ts";

/** Options of `createApp`. */
export interface AppOptions {
  db: Db;
  logger: Logger;
  /** Shared metrics registry (a new one when absent). */
  registry?: Registry;
  /** When set, acknowledging requires `Authorization: Bearer <token>` (or the form field). */
  authToken?: string;
  /** Origins besides the dashboard's own that may open the WebSocket and post forms. */
  allowedOrigins?: string[];
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
  hub: LiveHub;
  data: DashboardData;
  registry: Registry;
  kafka: KafkaMonitor;
  /** Stops the live feeds and closes sockets and the Kafka client (not the Mongo client). */
  close(): Promise<void>;
}

const WEB_DIR = new URL(".", import.meta.url).pathname.replace(/\/$/, "");
const ROOT_DIR = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Where the client bundles go (gitignored). */
export const BUILD_DIR = `${WEB_DIR}/static/_build`;

let defaultAssets: Promise<ClientAssets> | undefined;

/** Builds the client bundles once per process. */
export function defaultClientAssets(): Promise<ClientAssets> {
  defaultAssets ??= buildClient({
    islandsDir: `${WEB_DIR}/islands`,
    outDir: BUILD_DIR,
    publicPath: "/static/_build",
    root: ROOT_DIR,
  });
  defaultAssets.catch(() => defaultAssets = undefined);
  return defaultAssets;
}

const CONTENT_TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  png: "image/png",
  svg: "image/svg+xml",
  ico: "image/x-icon",
  json: "application/json",
  txt: "text/plain; charset=utf-8",
};

function safeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Creates the application. */
export function createApp(options: AppOptions): WebApp {
  const log = options.logger;
  const registry = options.registry ?? new Registry();
  const data = new DashboardData(options.db);
  const kafka = options.kafka ?? new KafkaMonitor({ topic: TOPICS.readings, group: PROCESSOR_GROUP, logger: log });
  const hub = new LiveHub({
    db: options.db,
    logger: log.child("live"),
    registry,
    prefer: options.liveMode,
    flushMs: options.flushMs,
    pollIntervalMs: options.pollIntervalMs,
  });
  const websiteHub = new WebsiteHub({
    db: options.db,
    logger: log.child("live-websites"),
    prefer: options.liveMode,
    flushMs: options.flushMs,
    pollIntervalMs: options.pollIntervalMs,
  });
  const assets = options.assets ?? defaultClientAssets;
  const allowed = new Set(options.allowedOrigins ?? []);
  const authToken = options.authToken || undefined;
  const httpRequests = registry.counter("web_http_requests_total", "HTTP requests by route and status");
  const httpSeconds = registry.histogram("web_http_request_seconds", "HTTP request duration");
  const wsRejected = registry.counter("web_ws_rejected_total", "WebSocket upgrades refused (origin)");

  const originAllowed = (origin: string | undefined, c: Context) =>
    origin === undefined || origin === new URL(c.req.url).origin || allowed.has(origin);

  const app = new Hono();
  app.use("*", async (c, next) => {
    const t = performance.now();
    await next();
    const route = c.req.routePath;
    httpRequests.inc(1, { method: c.req.method, route, status: c.res.status });
    httpSeconds.observe((performance.now() - t) / 1000);
  });
  app.use("*", honoLogger((line) => log.debug(line.trim())));
  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", NONCE],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
      },
    }),
  );
  app.use("*", (c, next) => {
    if (c.req.path === "/ws") return next();
    return compress()(c, next);
  });
  // Cross-site POSTs (forms or fetch from another origin) are refused; browsers always send Origin on them.
  app.use("*", (c, next) => {
    if (c.req.method !== "GET" && c.req.method !== "HEAD" && !originAllowed(c.req.header("origin"), c)) {
      return Promise.resolve(c.json({ error: "Cross-origin request refused" }, 403));
    }
    return next();
  });

  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    if (err instanceof ParamError) {
      if (c.req.path.startsWith("/api/")) return c.json({ error: err.message }, 400);
      return page(c, <ErrorPage status={400} message={err.message} path={c.req.path} />, 400);
    }
    if (err instanceof NotFoundError) {
      if (c.req.path.startsWith("/api/")) return c.json({ error: err.message }, 404);
      return page(c, <ErrorPage status={404} message={err.message} path={c.req.path} />, 404);
    }
    log.error("request failed", { path: c.req.path, error: err });
    if (c.req.path.startsWith("/api/")) return c.json({ error: "Internal error" }, 500);
    return c.text("Internal error", 500);
  });
  app.notFound((c) =>
    c.req.path.startsWith("/api/") ? c.json({ error: "Not found" }, 404) : page(
      c,
      <ErrorPage status={404} message="Page not found" path={c.req.path} />,
      404,
    )
  );

  let buildFailed = false;
  async function page(c: Context, vnode: VNode, status = 200): Promise<Response> {
    const nonce = (c.get("secureHeadersNonce" as never) as string | undefined) ?? "";
    let client: ClientAssets | undefined;
    try {
      client = await assets();
      buildFailed = false;
    } catch (e) {
      // The server-rendered page is still useful: serve it without islands.
      if (!buildFailed) log.error("client bundles could not be built; serving static pages", { error: e as Error });
      buildFailed = true;
    }
    const { html } = renderPage(vnode, { nonce, assets: client });
    c.header("Cache-Control", "no-store");
    return c.html(html, status as 200);
  }

  const routeContext = (c: Context): RouteContext => ({
    data,
    kafka,
    url: new URL(c.req.url),
    params: c.req.param() as Record<string, string>,
    query: c.req.queries() ?? {},
    authRequired: authToken !== undefined,
  });
  const pageRoute = (route: PageRoute) => async (c: Context) => page(c, await route(routeContext(c)));

  // Pages (Fresh-style files under routes/).
  app.get("/", pageRoute(OverviewPage));
  app.get("/alerts", pageRoute(AlertsPage));
  app.get("/pipeline", pageRoute(PipelinePage));
  app.get("/sensors/:id", pageRoute(SensorPage));
  app.get("/websites", pageRoute(WebsitesPage));

  // Operations.
  app.get("/healthz", async (c) => {
    const ok = await data.ping();
    return c.json({ ok, mongo: ok ? "reachable" : "unreachable", live: hub.modes }, ok ? 200 : 503);
  });
  app.get("/metrics", (c) => c.body(registry.render(), 200, { "content-type": PROMETHEUS_CONTENT_TYPE }));

  // Static files; the content-hashed bundles are cached for a year.
  app.get("/static/*", async (c) => {
    const rel = decodeURIComponent(c.req.path.slice("/static/".length));
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/.test(rel)) {
      return c.text("Not found", 404);
    }
    if (rel.startsWith("_build/")) await assets();
    let body: Uint8Array;
    try {
      body = await Deno.readFile(`${WEB_DIR}/static/${rel}`);
    } catch {
      return c.text("Not found", 404);
    }
    const ext = rel.split(".").pop() ?? "";
    c.header("content-type", CONTENT_TYPES[ext] ?? "application/octet-stream");
    c.header("cache-control", rel.startsWith("_build/") ? "public, max-age=31536000, immutable" : "no-cache");
    return c.body(body as Uint8Array<ArrayBuffer>);
  });

  // Live updates: one handler for both hubs (origin check, upgrade, hand the socket to the hub).
  const liveSocket = (target: Pick<LiveHub | WebsiteHub, "connect">) => (c: Context) => {
    const origin = c.req.header("origin");
    if (!originAllowed(origin, c)) {
      wsRejected.inc();
      log.warn("WebSocket origin refused", { origin });
      return c.json({ error: "Origin not allowed" }, 403);
    }
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return c.json({ error: "Expected a WebSocket upgrade" }, 426);
    }
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 60 });
    let handlers: ReturnType<LiveHub["connect"]> | undefined;
    socket.onopen = () => handlers = target.connect(socket);
    socket.onmessage = (ev) => handlers?.onMessage(ev.data);
    socket.onclose = () => handlers?.onClose();
    socket.onerror = () => handlers?.onClose();
    return response;
  };
  app.get("/ws", liveSocket(hub));
  app.get("/ws/websites", liveSocket(websiteHub));

  // JSON API.
  app.get("/api/websites", async (c) => {
    const p = parseParams(c.req.queries() ?? {}, {
      state: { type: "enum", values: ["firing", "resolved"] },
      window: { type: "int", min: 60, max: 300, default: 60 },
      since: { type: "time" },
      limit: { type: "int", min: 1, max: 500, default: 100 },
    });
    if (p.window !== 60 && p.window !== 300) {
      throw new ParamError(`Parameter window must be 60 or 300, got "${p.window}"`);
    }
    const wd = new WebsiteData(options.db);
    const since = p.since ?? new Date(Date.now() - 3600_000);
    const [sites, windows, alerts] = await Promise.all([
      wd.sites(),
      wd.windows(p.window, since, 5000),
      wd.alerts({ state: p.state as "firing" | "resolved" | undefined, since: p.since, limit: p.limit }),
    ]);
    return c.json({ sites, windows, alerts, now: Date.now() });
  });

  app.get("/api/windows", async (c) => {
    const p = parseParams(c.req.queries() ?? {}, {
      kind: { type: "enum", values: ["type_location", "sensor"], default: "type_location" },
      size: { type: "int", min: 10, max: 60, default: 10 },
      type: { type: "sensorType" },
      location: { type: "location" },
      sensor: { type: "sensorId" },
      since: { type: "time" },
      limit: { type: "int", min: 1, max: 5000, default: 500 },
    });
    if (p.size !== 10 && p.size !== 60) throw new ParamError(`Parameter size must be 10 or 60, got "${p.size}"`);
    const windows = await data.windows({ ...p, kind: p.kind as "type_location" | "sensor" } as never);
    return c.json({ windows, now: Date.now() });
  });

  app.get("/api/alerts", async (c) => {
    const p = parseParams(c.req.queries() ?? {}, {
      state: { type: "enum", values: ["firing", "resolved"] },
      severity: { type: "enum", values: ["warning", "critical"] },
      acknowledged: { type: "bool" },
      type: { type: "sensorType" },
      location: { type: "location" },
      sensor: { type: "sensorId" },
      since: { type: "time" },
      limit: { type: "int", min: 1, max: 500, default: 100 },
    });
    const alerts = await data.alerts(p as never);
    return c.json({ alerts, now: Date.now() });
  });

  app.get("/api/sensors/:id", async (c) => {
    const id = c.req.param("id");
    if (!SENSOR_ID_RE.test(id)) throw new ParamError("Sensor id must look like sensor_0001");
    const p = parseParams(c.req.queries() ?? {}, {
      limit: { type: "int", min: 1, max: 1000, default: 200 },
      since: { type: "time" },
    });
    const [readings, windows10, windows60, alerts] = await Promise.all([
      data.readings(id, p.limit, p.since),
      data.windows({ kind: "sensor", size: 10, sensor: id, limit: 30 }),
      data.windows({ kind: "sensor", size: 60, sensor: id, limit: 10 }),
      data.alerts({ sensor: id, limit: 50 }),
    ]);
    return c.json({ sensor: id, readings, windows: [...windows10, ...windows60], alerts, now: Date.now() });
  });

  app.get("/api/pipeline", async (c) => {
    parseParams(c.req.queries() ?? {}, {});
    const [stats, kafkaSnapshot, deadLetters] = await Promise.all([
      data.stats(true),
      kafka.snapshot(),
      data.deadLetters(20),
    ]);
    return c.json({ stats, kafka: kafkaSnapshot, deadLetters, live: hub.modes, now: Date.now() });
  });

  const filterSpec = { type: { type: "sensorType" }, location: { type: "location" } } as const;
  app.get("/api/overview", async (c) => c.json(await data.overview(parseParams(c.req.queries() ?? {}, filterSpec))));
  app.get("/api/tiles", async (c) => {
    const tiles = await data.tiles(parseParams(c.req.queries() ?? {}, filterSpec));
    return c.json({ tiles, now: Date.now() });
  });

  const checkToken = (given: string | undefined) => !authToken || (given !== undefined && safeEqual(given, authToken));
  const alertId = (c: Context) => {
    const id = c.req.param("id") ?? "";
    if (id.length === 0 || id.length > 200) throw new ParamError("Alert id must be 1 to 200 characters");
    return id;
  };

  app.post("/api/alerts/:id/ack", async (c) => {
    const id = alertId(c);
    const auth = c.req.header("authorization");
    const bearer = auth?.startsWith("Bearer ") ? auth.slice(7) : undefined;
    if (!checkToken(bearer)) {
      c.header("WWW-Authenticate", 'Bearer realm="dashboard"');
      return c.json({ error: "A valid bearer token is required to acknowledge" }, 401);
    }
    const alert = await data.acknowledge(id, "dashboard");
    if (!alert) return c.json({ error: `No alert ${id}` }, 404);
    log.info("alert acknowledged", { id });
    return c.json({ alert });
  });

  app.post("/alerts/:id/ack", async (c) => {
    const id = alertId(c);
    const form = await c.req.parseBody();
    const token = typeof form.token === "string" ? form.token : undefined;
    if (!checkToken(token)) {
      return page(c, <ErrorPage status={401} message="A valid token is required to acknowledge" path="/alerts" />, 401);
    }
    const alert = await data.acknowledge(id, "dashboard");
    if (!alert) throw new NotFoundError(`No alert ${id}`);
    log.info("alert acknowledged", { id });
    return c.redirect("/alerts", 303);
  });

  return {
    app,
    hub,
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
