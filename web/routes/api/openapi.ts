/** `GET /api/openapi.json`: the OpenAPI 3.1 description of the JSON API (`openapi.json` beside this file). */
import spec from "./openapi.json" with { type: "json" };
import type { ApiHandler } from "../context.ts";
import { parseParams } from "../params.ts";

/** The OpenAPI document. */
export const OPENAPI: typeof spec = spec;

/** The document. */
export const GET: ApiHandler = (ctx) => {
  parseParams(ctx.query, {});
  return Promise.resolve(spec);
};
