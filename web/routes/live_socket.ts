/**
 * `GET /ws` and `GET /ws/websites`: the WebSocket upgrade of a live hub, one
 * handler for both. A foreign `Origin` is refused before the upgrade (403
 * JSON), a plain request gets a 426; the socket's events go to the hub.
 */
import type { Context } from "hono";
import type { Logger } from "@iot/shared";
import type { LiveHub } from "../live/hub.ts";

/** Options of `liveSocket`. */
export interface LiveSocketOptions {
  /** Whether the request's origin may connect. */
  originAllowed(origin: string | undefined, requestUrl: string): boolean;
  /** Called for each refused origin (metrics). */
  onRefused(): void;
  logger: Logger;
}

/** The upgrade handler of a hub. */
export function liveSocket<S>(hub: Pick<LiveHub<S>, "connect">, options: LiveSocketOptions) {
  return (c: Context): Response => {
    const origin = c.req.header("origin");
    if (!options.originAllowed(origin, c.req.url)) {
      options.onRefused();
      options.logger.warn("WebSocket origin refused", { origin });
      return c.json({ error: "Origin not allowed" }, 403);
    }
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return c.json({ error: "Expected a WebSocket upgrade" }, 426);
    }
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 60 });
    let handlers: ReturnType<LiveHub<S>["connect"]> | undefined;
    socket.onopen = () => handlers = hub.connect(socket);
    socket.onmessage = (ev) => handlers?.onMessage(ev.data);
    socket.onclose = () => handlers?.onClose();
    socket.onerror = () => handlers?.onClose();
    return response;
  };
}
