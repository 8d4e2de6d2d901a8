/** `GET /healthz`: whether MongoDB answers, and the live feeds' modes (503 when MongoDB does not). */
import type { Handler } from "./context.ts";

/** The health answer. */
export const GET: Handler = async (ctx) => {
  const ok = await ctx.data.ping();
  return Response.json(
    { ok, mongo: ok ? "reachable" : "unreachable", live: ctx.live.modes },
    { status: ok ? 200 : 503 },
  );
};
