/** `POST /api/incidents/:id/ack` (formerly `/api/alerts/:id/ack`): acknowledges a sensor incident (the processor's state is left alone). */
import { NotFoundError } from "../../http_error.ts";
import type { ApiHandler } from "../context.ts";
import { alertIdParam, parseParams } from "../params.ts";

/** Acknowledges; 404 for an unknown alert. */
export const POST: ApiHandler = async (ctx) => {
  parseParams(ctx.query, {});
  const id = alertIdParam(ctx.params);
  const alert = await ctx.data.acknowledge(id, "dashboard");
  if (!alert) throw new NotFoundError(`No incident ${id}`);
  ctx.logger.info("incident acknowledged", { id });
  return { alert, incident: alert };
};
