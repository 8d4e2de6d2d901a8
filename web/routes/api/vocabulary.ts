/** `GET /api/vocabulary`: the sensor types (with what is known of each) and locations present in the recent data. */
import type { ApiHandler } from "../context.ts";
import { parseParams } from "../params.ts";

/** Query parameters. */
export const PARAMS = {} as const;

/** The discovered types and locations. */
export const GET: ApiHandler = async (ctx) => {
  parseParams(ctx.query, PARAMS);
  return { ...(await ctx.data.vocabulary()), now: Date.now() };
};
