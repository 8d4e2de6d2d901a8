/**
 * The sensor dashboard's live data, shared by every island of a page: one
 * `/ws` connection (reconnect and backoff in `socket.ts`), backfill over HTTP
 * from the last seen time after a reconnect or a "resync", and the received
 * data as signals.
 */
import { signal } from "@preact/signals";
import { openLiveSocket } from "./socket.ts";
import type { Frame, LiveMode, Subscription, WireAlert, WireDeadLetter, WireStats, WireWindow } from "../lib/wire.ts";

/** Connection state shown in the header. */
export type LiveStatus = "connecting" | "live" | "offline" | "off";

/** Connection state. */
export const status = signal<LiveStatus>("off");
/** Live mode per collection, as the server reports it. */
export const modes = signal<Record<string, LiveMode>>({});
/** Windows by id. */
export const windows = signal<Map<string, WireWindow>>(new Map());
/** Alerts by id. */
export const alerts = signal<Map<string, WireAlert>>(new Map());
/** Heartbeats by id. */
export const stats = signal<Map<string, WireStats>>(new Map());
/** Dead letters by id. */
export const deadLetters = signal<Map<string, WireDeadLetter>>(new Map());
/** Number of frames received (tests and the status badge read it). */
export const frames = signal(0);

/** How long windows are kept in the browser. */
const KEEP_WINDOWS_MS = 10 * 60_000;

let subscription: Subscription | undefined;
let lastSeen = 0;
let started = false;

function merge<T extends { id: string }>(target: typeof windows | typeof alerts, items: T[]): void {
  if (!items.length) return;
  const next = new Map(target.value as Map<string, unknown>);
  for (const item of items) next.set(item.id, item);
  (target as { value: Map<string, unknown> }).value = next;
}

/** Adds windows (from props, frames or backfill); drops those older than the kept span. */
export function addWindows(items: WireWindow[]): void {
  if (!items.length) return;
  const next = new Map(windows.value);
  let newest = 0;
  for (const w of items) {
    next.set(w.id, w);
    lastSeen = Math.max(lastSeen, w.updated);
  }
  for (const w of next.values()) newest = Math.max(newest, w.start);
  for (const [id, w] of next) if (w.start < newest - KEEP_WINDOWS_MS) next.delete(id);
  windows.value = next;
}

/** Adds alerts. */
export function addAlerts(items: WireAlert[]): void {
  for (const a of items) lastSeen = Math.max(lastSeen, a.updated);
  merge(alerts, items);
}

/** Adds heartbeats. */
export function addStats(items: WireStats[]): void {
  if (!items.length) return;
  const next = new Map(stats.value);
  for (const s of items) next.set(s.id, s);
  stats.value = next;
}

/** Adds dead letters. */
export function addDeadLetters(items: WireDeadLetter[]): void {
  if (!items.length) return;
  const next = new Map(deadLetters.value);
  for (const d of items) next.set(d.id, d);
  deadLetters.value = next;
}

/** Notes the server time up to which the page's first paint is current. */
export function seenUpTo(time: number): void {
  lastSeen = Math.max(lastSeen, time);
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  return q.toString();
}

async function backfill(): Promise<void> {
  const sub = subscription;
  if (!sub) return;
  const since = lastSeen > 0 ? lastSeen : undefined;
  const [w, a] = await Promise.all([
    fetch(`/api/windows?${
      query({
        kind: sub.kind ?? "type_location",
        size: sub.size ?? 10,
        type: sub.types?.[0],
        location: sub.locations?.[0],
        sensor: sub.sensor,
        since,
        limit: 5000,
      })
    }`).then((r) => r.ok ? r.json() : { windows: [] }),
    fetch(
      `/api/alerts?${
        query({ type: sub.types?.[0], location: sub.locations?.[0], sensor: sub.sensor, since, limit: 500 })
      }`,
    ).then((r) => r.ok ? r.json() : { alerts: [] }),
  ]);
  addWindows(w.windows ?? []);
  addAlerts(a.alerts ?? []);
}

function onFrame(frame: Frame): void {
  frames.value++;
  switch (frame.t) {
    case "hello":
    case "mode":
      modes.value = frame.modes;
      break;
    case "batch":
      addWindows(frame.windows ?? []);
      addAlerts(frame.alerts ?? []);
      addStats(frame.stats ?? []);
      addDeadLetters(frame.deadLetters ?? []);
      break;
    case "resync":
      backfill().catch(() => {});
      break;
  }
}

/** Opens the page's live connection once (later calls are ignored). */
export function startLive(sub: Omit<Subscription, "t">): void {
  if (started || typeof WebSocket === "undefined") return;
  started = true;
  subscription = { t: "sub", ...sub };
  openLiveSocket({
    path: "/ws",
    onState: (s) => status.value = s,
    onOpen: (ws, reconnected) => {
      ws.send(JSON.stringify(subscription));
      if (reconnected) backfill().catch(() => {});
    },
    onFrame: (frame) => onFrame(frame as Frame),
  });
}

/** True in the browser, false during server rendering (islands render from props there). */
export const IS_BROWSER = typeof document !== "undefined";

/** Formats epoch milliseconds as a local time of day. */
export function timeOfDay(ms: number): string {
  return new Date(ms).toLocaleTimeString("en-GB", { hour12: false, timeZone: IS_BROWSER ? undefined : "UTC" });
}
