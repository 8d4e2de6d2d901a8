/** `POST /alerts/:id/ack`: the alerts page's no-JavaScript acknowledge form; back to the page after. */
import { NotFoundError } from "../../../http_error.ts";
import type { Handler } from "../../context.ts";
import { alertIdParam } from "../../params.ts";

/** Acknowledges, then redirects to `/alerts` (303). */
export const POST: Handler = async (ctx) => {
  const id = alertIdParam(ctx.params);
  const alert = await ctx.data.acknowledge(id, "dashboard");
  if (!alert) throw new NotFoundError(`No alert ${id}`);
  ctx.logger.info("alert acknowledged", { id });
  return new Response(null, { status: 303, headers: { location: "/alerts" } });
};
