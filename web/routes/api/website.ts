/**
 * `GET /api/website/:url`: one target (its url URL-encoded in the path): its
 * rolling statistics, statistics and an hourly history (average response
 * time, uptime) over the last `hours` from the windowed statistics, and its
 * alerts in that period. 404 for a url that is not monitored.
 */
import { NotFoundError } from "../../http_error.ts";
import type { ApiHandler } from "../context.ts";
import { ParamError, parseParams } from "../params.ts";

/** Query parameters. */
export const PARAMS = {
  hours: { type: "int", min: 1, max: 720, default: 24 },
} as const;

/** The url of the path (decoded): an http(s) URL of at most 2048 characters. */
export function websiteUrlParam(params: Record<string, string>): string {
  const url = params.url ?? "";
  if (url.length > 2048 || !/^https?:\/\/\S+$/.test(url)) {
    throw new ParamError("The website must be an http(s) URL, URL-encoded in the path");
  }
  return url;
}

/** The target's statistics, history and alerts. */
export const GET: ApiHandler = async (ctx) => {
  const url = websiteUrlParam(ctx.params);
  const p = parseParams(ctx.query, PARAMS);
  const now = Date.now();
  const since = new Date(now - p.hours * 3600_000);
  const site = await ctx.websites.site(url);
  if (!site) throw new NotFoundError(`No website ${url} is monitored`);
  const [history, alerts] = await Promise.all([
    ctx.websites.history(url, since),
    ctx.websites.alerts({ url, since, limit: 100 }),
  ]);
  return {
    site,
    hours: p.hours,
    window_s: history.window_s,
    stats: history.stats,
    history: history.history,
    alerts,
    now,
  };
};
