/** `POST /api/alerts/:id/ack`: acknowledges a sensor alert (the processor's state is left alone). */
import { NotFoundError } from "../../http_error.ts";
import type { ApiHandler } from "../context.ts";
import { alertIdParam, parseParams } from "../params.ts";

/** Acknowledges; 404 for an unknown alert. */
export const POST: ApiHandler = async (ctx) => {
  parseParams(ctx.query, {});
  const id = alertIdParam(ctx.params);
  const alert = await ctx.data.acknowledge(id, "dashboard");
  if (!alert) throw new NotFoundError(`No alert ${id}`);
  ctx.logger.info("alert acknowledged", { id });
  return { alert };
};
