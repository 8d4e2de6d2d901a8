/**
 * The websites `deno task up` checks when no `--targets` file is given, so
 * that the Websites page has cards, charts and alerts offline: a local demo
 * server on 127.0.0.1 with one healthy, one slow and one failing endpoint,
 * plus the stack's own `/healthz` endpoints.
 */
import { abortableSleep } from "@iot/shared";
import type { WebsiteTarget } from "../producer/http/mod.ts";

/**
 * How long the slow endpoint takes (ms): above the processor's default
 * HIGH_RESPONSE_TIME threshold (3000 ms average, `--website-response-ms`),
 * below the demo targets' timeout.
 */
export const DEMO_SLOW_MS = 3500;

/** Seconds between two checks of a built-in target. */
export const DEMO_INTERVAL_S = 5;

/** The demo server's endpoints. */
export const DEMO_PATHS = { healthy: "/healthy", slow: "/slow", failing: "/failing" } as const;

/** A running demo server. */
export interface DemoSites {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  close(): Promise<void>;
}

/** Options of `startDemoSites`. */
export interface DemoSitesOptions {
  /** Port on 127.0.0.1 (default 0: a free one). */
  port?: number;
  /** Delay of the slow endpoint (default `DEMO_SLOW_MS`). */
  slowMs?: number;
}

/**
 * The demo server's request handler: `/healthy` answers 200 at once, `/slow`
 * 200 after `slowMs`, `/failing` 503; anything else 404.
 */
export function demoHandler(slowMs: number, signal?: AbortSignal): (req: Request) => Promise<Response> {
  return async (req) => {
    const path = new URL(req.url).pathname;
    if (path === DEMO_PATHS.healthy) return new Response("ok\n");
    if (path === DEMO_PATHS.slow) {
      await abortableSleep(slowMs, signal);
      return new Response("ok, slowly\n");
    }
    if (path === DEMO_PATHS.failing) {
      return new Response("demo outage\n", { status: 503, statusText: "Service Unavailable" });
    }
    return new Response("not found\n", { status: 404 });
  };
}

/**
 * Starts the demo server on 127.0.0.1.
 *
 * @example
 * ```ts
 * const demo = startDemoSites();
 * const targets = builtInTargets({ demo: demo.url, processors: [9101], web: 8000 });
 * await demo.close();
 * ```
 */
export function startDemoSites(options: DemoSitesOptions = {}): DemoSites {
  const abort = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, signal: abort.signal, onListen: () => {} },
    demoHandler(options.slowMs ?? DEMO_SLOW_MS, abort.signal),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: async () => {
      abort.abort();
      await server.finished;
    },
  };
}

/** What the built-in target set points at. */
export interface BuiltInTargetsOptions {
  /** Base URL of the demo server. */
  demo: string;
  /** `/metrics` ports of the processors (their `/healthz` is checked). */
  processors: number[];
  /** Port of the dashboard. */
  web: number;
  /** Seconds between checks (default `DEMO_INTERVAL_S`). */
  intervalS?: number;
}

/** The targets `deno task up` checks by default: the stack's `/healthz` endpoints and the demo sites. */
export function builtInTargets(o: BuiltInTargetsOptions): WebsiteTarget[] {
  const intervalS = o.intervalS ?? DEMO_INTERVAL_S;
  const local = (name: string, url: string, category: string, timeoutS = 3): WebsiteTarget => ({
    name,
    url,
    category,
    intervalS,
    timeoutS,
  });
  return [
    ...o.processors.map((port, i) =>
      local(
        o.processors.length > 1 ? `Processor ${i + 1}` : "Processor",
        `http://127.0.0.1:${port}/healthz`,
        "stack",
      )
    ),
    local("Dashboard", `http://127.0.0.1:${o.web}/healthz`, "stack"),
    local("Demo healthy", `${o.demo}${DEMO_PATHS.healthy}`, "demo"),
    local("Demo slow", `${o.demo}${DEMO_PATHS.slow}`, "demo", 10),
    local("Demo failing", `${o.demo}${DEMO_PATHS.failing}`, "demo"),
  ];
}

/** The targets file (as `parseTargets` reads it) of `targets`. */
export function targetsFile(targets: WebsiteTarget[]): string {
  return JSON.stringify(
    targets.map((t) => ({
      name: t.name,
      url: t.url,
      category: t.category,
      interval: t.intervalS,
      timeout: t.timeoutS,
    })),
    null,
    2,
  );
}
