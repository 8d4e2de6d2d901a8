import assert from "node:assert/strict";
import { openLiveSocket, reconnectDelay, type SocketLike } from "./socket.ts";

class FakeSocket implements SocketLike {
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  sent: string[] = [];
  closed = false;
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.closed = true;
    this.onclose?.(new Event("close") as CloseEvent);
  }
  open(): void {
    this.onopen?.(new Event("open"));
  }
  message(data: string): void {
    this.onmessage?.(new MessageEvent("message", { data }));
  }
  drop(): void {
    this.onclose?.(new Event("close") as CloseEvent);
  }
}

Deno.test("reconnectDelay: 1 s doubling to 30 s, jittered down by at most a quarter", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 20].map((n) => reconnectDelay(n, () => 0)), [
    1000,
    2000,
    4000,
    8000,
    16000,
    30000,
    30000,
    30000,
  ]);
  assert.equal(reconnectDelay(1, () => 0.999), 750);
});

Deno.test("openLiveSocket: states, frames, reconnect with backoff and the reconnected flag, close for good", () => {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const states: string[] = [];
  const frames: unknown[] = [];
  const opens: boolean[] = [];
  const live = openLiveSocket({
    path: "/ws",
    baseUrl: "ws://dash",
    connect: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    random: () => 0,
    onState: (s) => states.push(s),
    onFrame: (f) => frames.push(f),
    onOpen: (ws, reconnected) => {
      opens.push(reconnected);
      ws.send("sub");
    },
  });
  assert.equal(sockets[0].url, "ws://dash/ws");
  sockets[0].open();
  sockets[0].message('{"t":"hello"}');
  sockets[0].message("not json");
  assert.deepEqual(frames, [{ t: "hello" }]);
  assert.deepEqual(sockets[0].sent, ["sub"]);
  sockets[0].drop();
  assert.deepEqual(timers.map((t) => t.ms), [1000]);
  timers[0].fn();
  sockets[1].drop(); // never opened: the next delay grows
  assert.deepEqual(timers.map((t) => t.ms), [1000, 2000]);
  timers[1].fn();
  sockets[2].open();
  assert.deepEqual(opens, [false, true]);
  sockets[2].drop();
  assert.equal(timers.at(-1)!.ms, 1000, "the backoff starts over after an open");
  timers.at(-1)!.fn();
  live.close();
  assert.equal(sockets[3].closed, true);
  assert.equal(timers.length, 3, "no reconnect after close()");
  assert.deepEqual(states, [
    "connecting",
    "live",
    "offline",
    "connecting",
    "offline",
    "connecting",
    "live",
    "offline",
    "connecting",
  ]);
});
