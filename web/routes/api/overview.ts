/** `GET /api/overview`: what the overview page shows (tiles, 10 minutes of windows, latest alerts). */
import type { ApiHandler } from "../context.ts";
import { FILTER_PARAMS, parseParams } from "../params.ts";

/** Query parameters. */
export const PARAMS = FILTER_PARAMS;

/** The overview. */
export const GET: ApiHandler = async (ctx) => await ctx.data.overview(parseParams(ctx.query, PARAMS));
