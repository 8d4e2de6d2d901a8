/**
 * Page rendering: a route's element to an HTML response with the CSP nonce of
 * the request and the client bundles. When the bundles cannot be built the
 * server-rendered page is still served, without islands.
 */
import type { Context } from "hono";
import type { VNode } from "preact";
import type { Logger } from "@iot/shared";
import { type ClientAssets, renderPage } from "./islands_runtime/server.ts";
import { nonceOf } from "./middlewares/csp.ts";

/** Renders a page element as the response to a request. */
export type RenderPage = (c: Context, vnode: VNode, status?: number) => Promise<Response>;

/** Options of `pageRenderer`. */
export interface PageRendererOptions {
  /** The client bundles (built on first use). */
  assets: () => Promise<ClientAssets>;
  logger: Logger;
}

/** Creates the page renderer of an app. */
export function pageRenderer(options: PageRendererOptions): RenderPage {
  let buildFailed = false;
  return async (c, vnode, status = 200) => {
    let client: ClientAssets | undefined;
    try {
      client = await options.assets();
      buildFailed = false;
    } catch (e) {
      // The server-rendered page is still useful: serve it without islands.
      if (!buildFailed) {
        options.logger.error("client bundles could not be built; serving static pages", { error: e as Error });
      }
      buildFailed = true;
    }
    const { html } = renderPage(vnode, { nonce: nonceOf(c), assets: client });
    c.header("Cache-Control", "no-store");
    return c.html(html, status as 200);
  };
}
