/** `DELETE /api/silences/:id`: ends a silence at once (its incidents are announced again); 404 for an unknown one. */
import { NotFoundError } from "../../http_error.ts";
import type { ApiHandler } from "../context.ts";
import { alertIdParam, parseParams } from "../params.ts";

/** Deletes. */
export const DELETE: ApiHandler = async (ctx) => {
  parseParams(ctx.query, {});
  const id = alertIdParam(ctx.params);
  if (!await ctx.data.deleteSilence(id)) throw new NotFoundError(`No silence ${id}`);
  ctx.logger.info("silence deleted", { id });
  return { deleted: id };
};
