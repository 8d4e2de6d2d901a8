/**
 * Error mapping: an `HttpError` becomes its status with `{ error }` JSON under
 * `/api/` (or when it asks for JSON) and an error page elsewhere; Hono's own
 * `HTTPException` keeps its response; anything else is logged and a 500.
 * Unknown paths are a 404 the same way.
 */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Logger } from "@iot/shared";
import { ErrorPage } from "../components/ErrorPage.tsx";
import { HttpError, isApiPath } from "../http_error.ts";
import type { RenderPage } from "../render.ts";

/** Options of `errorHandler` and `notFoundHandler`. */
export interface ErrorsOptions {
  logger: Logger;
  render: RenderPage;
}

function answer(c: Context, options: ErrorsOptions, err: HttpError): Response | Promise<Response> {
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  if (err.json || isApiPath(c.req.path)) return c.json({ error: err.message }, err.status);
  return options.render(c, <ErrorPage status={err.status} message={err.message} path={c.req.path} />, err.status);
}

/** The app's error handler (`app.onError`). */
export function errorHandler(options: ErrorsOptions): ErrorHandler {
  return (err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    if (err instanceof HttpError) return answer(c, options, err);
    options.logger.error("request failed", { path: c.req.path, error: err });
    if (isApiPath(c.req.path)) return c.json({ error: "Internal error" }, 500);
    return c.text("Internal error", 500);
  };
}

/** The app's 404 handler (`app.notFound`). */
export function notFoundHandler(options: ErrorsOptions): NotFoundHandler {
  return (c) => answer(c, options, new HttpError(404, isApiPath(c.req.path) ? "Not found" : "Page not found"));
}
