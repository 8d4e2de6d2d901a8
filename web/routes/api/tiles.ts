/** `GET /api/tiles`: the overview's headline numbers. */
import type { ApiHandler } from "../context.ts";
import { FILTER_PARAMS, parseParams } from "../params.ts";

/** Query parameters. */
export const PARAMS = FILTER_PARAMS;

/** The tiles. */
export const GET: ApiHandler = async (ctx) => {
  const tiles = await ctx.data.tiles(parseParams(ctx.query, PARAMS));
  return { tiles, now: Date.now() };
};
