/** What a route receives, and the shapes of route modules (pages, JSON APIs, other handlers). */
import type { VNode } from "preact";
import type { Logger } from "@iot/shared";
import type { DashboardData } from "../data.ts";
import type { KafkaMonitor } from "../kafka_monitor.ts";
import type { FeedMode } from "../live/source.ts";
import type { WebsiteData } from "../website_data.ts";

export { NotFoundError } from "../http_error.ts";

/** The request as a route sees it. */
export interface RouteContext {
  data: DashboardData;
  websites: WebsiteData;
  kafka: KafkaMonitor;
  /** The sensor feed's live mode per collection. */
  live: { readonly modes: Record<string, FeedMode> };
  logger: Logger;
  url: URL;
  /** Path parameters (`/sensors/:id`), decoded. */
  params: Record<string, string>;
  /** Query parameters, all values. */
  query: Record<string, string[]>;
  /** Whether writes need the token. */
  authRequired: boolean;
  /** The request body as JSON (400 when it is not). */
  json(): Promise<unknown>;
}

/** A page route module's default export: an async server component of the whole page. */
export type PageRoute = (ctx: RouteContext) => Promise<VNode>;

/** A JSON API handler: returns the body of a 200; failures are thrown as `HttpError`. */
export type ApiHandler = (ctx: RouteContext) => Promise<object>;

/** A handler that makes its own response (health, form posts). */
export type Handler = (ctx: RouteContext) => Promise<Response>;
