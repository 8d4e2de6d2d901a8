/**
 * The one error type of the web app that carries an HTTP status (like Fresh's
 * `HttpError`): route handlers and middlewares throw it, and the error
 * middleware answers with JSON under `/api/` and an error page elsewhere.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Options of `HttpError`. */
export interface HttpErrorOptions {
  /** Extra response headers (e.g. `WWW-Authenticate`). */
  headers?: Record<string, string>;
  /** Answer with JSON even outside `/api/` (refusals of write requests, which scripts send). */
  json?: boolean;
  cause?: unknown;
}

/** A request failed with an HTTP status and a sentence-case message meant for the client. */
export class HttpError extends Error {
  override name = "HttpError";
  /** The HTTP status of the response. */
  readonly status: ContentfulStatusCode;
  /** Extra response headers. */
  readonly headers: Record<string, string>;
  /** Whether the answer is JSON wherever the request went. */
  readonly json: boolean;
  constructor(status: ContentfulStatusCode, message: string, options: HttpErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.status = status;
    this.headers = options.headers ?? {};
    this.json = options.json ?? false;
  }
}

/** A route could not find what was asked for (404). */
export class NotFoundError extends HttpError {
  override name = "NotFoundError";
  constructor(message: string) {
    super(404, message);
  }
}

/** Whether a path belongs to the JSON API (errors there are JSON). */
export function isApiPath(path: string): boolean {
  return path.startsWith("/api/");
}
