/** What a page route receives. */
import type { DashboardData } from "../data.ts";
import type { KafkaMonitor } from "../kafka_monitor.ts";

/** The request as a page route sees it. */
export interface RouteContext {
  data: DashboardData;
  kafka: KafkaMonitor;
  url: URL;
  /** Path parameters (`/sensors/:id`). */
  params: Record<string, string>;
  /** Query parameters, all values. */
  query: Record<string, string[]>;
  /** Whether acknowledging needs the token. */
  authRequired: boolean;
}

/** A page route module's default export: an async server component of the whole page. */
export type PageRoute = (ctx: RouteContext) => Promise<preact.VNode>;

/** A route could not find what was asked for. */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}
