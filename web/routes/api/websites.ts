/**
 * `GET /api/websites`: every monitored target with `has_alerts`, its windows
 * since a time (or over the last `hours`), and website alerts; the websites
 * page loads the same.
 */
import type { WireSite, WireWebsiteAlert } from "../../lib/website_wire.ts";
import type { WireWebsiteWindow } from "../../website_data.ts";
import type { ApiHandler, RouteContext } from "../context.ts";
import { ParamError, parseParams } from "../params.ts";

/** Query parameters. */
export const PARAMS = {
  state: { type: "enum", values: ["firing", "resolved"] },
  window: { type: "int", min: 60, max: 300, default: 60 },
  since: { type: "time" },
  hours: { type: "int", min: 1, max: 720 },
  limit: { type: "int", min: 1, max: 500, default: 100 },
} as const;

/** A target with whether it has alerts (firing, or seen in the period). */
export type SiteWithAlerts = WireSite & { has_alerts: boolean };

/** What the websites page and API show. */
export interface WebsitesView {
  sites: SiteWithAlerts[];
  alerts: WireWebsiteAlert[];
}

/** What to load. */
export interface WebsitesLoad {
  state?: "firing" | "resolved";
  /** Alerts updated after this time (and `has_alerts` counts alerts seen since the period start). */
  since?: Date;
  /** Start of the period of `has_alerts`. */
  periodStart: Date;
  limit: number;
}

/** Loads the targets (by name) with `has_alerts`, and the website alerts (firing first). */
export async function loadWebsites(ctx: RouteContext, load: WebsitesLoad): Promise<WebsitesView> {
  const [sites, withAlerts, alerts] = await Promise.all([
    ctx.websites.sites(),
    ctx.websites.urlsWithAlerts(load.periodStart),
    ctx.websites.alerts({ state: load.state, since: load.since, limit: load.limit }),
  ]);
  return { sites: sites.map((s) => ({ ...s, has_alerts: withAlerts.has(s.url) })), alerts };
}

/** The targets, their windows and the alerts. */
export const GET: ApiHandler = async (ctx) => {
  const p = parseParams(ctx.query, PARAMS);
  if (p.window !== 60 && p.window !== 300) {
    throw new ParamError(`Parameter window must be 60 or 300, got "${p.window}"`);
  }
  if (p.since && p.hours) throw new ParamError("Give parameter since or hours, not both");
  const now = Date.now();
  const periodStart = p.since ?? new Date(now - (p.hours ?? 1) * 3600_000);
  const [view, windows] = await Promise.all([
    loadWebsites(ctx, {
      state: p.state as "firing" | "resolved" | undefined,
      since: p.since,
      periodStart,
      limit: p.limit,
    }),
    ctx.websites.windows(p.window, periodStart, 5000),
  ]);
  const body: WebsitesView & { windows: WireWebsiteWindow[]; now: number } = { ...view, windows, now };
  return body;
};
