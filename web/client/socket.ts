/**
 * The one WebSocket connection helper of the browser: connect to a path of
 * this origin, report the connection state, hand every parsed frame over, and
 * reconnect after a close with delays from `backoffDelay` (1 s doubling to
 * 30 s, jittered), telling the caller when an open is a reconnect so that it
 * can backfill what it missed over HTTP. Every island's live data goes
 * through it.
 */
import { backoffDelay } from "@iot/shared/retry";

/** Connection state of a live socket. */
export type SocketState = "connecting" | "live" | "offline";

/** The browser WebSocket as far as this module uses it (a fake in tests). */
export interface SocketLike {
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  send(data: string): void;
  close(): void;
}

/** Options of `openLiveSocket`. */
export interface LiveSocketOptions {
  /** Path on this origin, e.g. `/ws`. */
  path: string;
  /** Called on every open; `reconnected` after a close (the caller backfills then). */
  onOpen?: (socket: SocketLike, reconnected: boolean) => void;
  /** Called with each frame parsed from JSON (frames that are not JSON are dropped). */
  onFrame: (frame: unknown) => void;
  onState?: (state: SocketState) => void;
  /** The socket factory (default: a WebSocket to this page's host). */
  connect?: (url: string) => SocketLike;
  /** The base URL (default: from `location`). */
  baseUrl?: string;
  /** Timer (tests). */
  setTimer?: (fn: () => void, ms: number) => unknown;
  /** Random source of the jitter (tests). */
  random?: () => number;
}

/** A live socket: `close()` ends it for good. */
export interface LiveSocket {
  close(): void;
}

/** The delay before reconnect number `attempt` (1 for the first). */
export function reconnectDelay(attempt: number, random?: () => number): number {
  return backoffDelay(attempt, { initialMs: 1000, maxMs: 30_000, jitter: 0.25, random });
}

/** Opens a live socket that reconnects until closed. */
export function openLiveSocket(options: LiveSocketOptions): LiveSocket {
  const base = options.baseUrl ??
    `${globalThis.location?.protocol === "https:" ? "wss" : "ws"}://${globalThis.location?.host}`;
  const connect = options.connect ?? ((url: string) => new WebSocket(url) as SocketLike);
  const setTimer = options.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
  let attempt = 0;
  let closed = false;
  let current: SocketLike | undefined;
  const open = () => {
    if (closed) return;
    options.onState?.("connecting");
    const ws = connect(base + options.path);
    current = ws;
    ws.onopen = () => {
      const reconnected = attempt > 0;
      attempt = 0;
      options.onState?.("live");
      options.onOpen?.(ws, reconnected);
    };
    ws.onmessage = (ev) => {
      let frame: unknown;
      try {
        frame = JSON.parse(String(ev.data));
      } catch {
        return; // a bad frame is dropped
      }
      options.onFrame(frame);
    };
    ws.onclose = () => {
      if (closed || current !== ws) return;
      options.onState?.("offline");
      attempt++;
      setTimer(open, reconnectDelay(attempt, options.random));
    };
  };
  open();
  return {
    close: () => {
      closed = true;
      current?.close();
    },
  };
}
