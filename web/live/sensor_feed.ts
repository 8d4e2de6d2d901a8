/**
 * The sensor dashboard's live feed (`/ws`): windows, alerts, heartbeats and
 * dead letters, filtered per client by the subscription it sends (sensor
 * types, locations, one sensor, window kind and size). Types and locations
 * are open: any name of the shared vocabulary pattern passes.
 */
import type { Document } from "mongodb";
import {
  type AlertDoc,
  COLLECTIONS,
  type DeadLetterDoc,
  isVocabularyName,
  type PipelineStatsDoc,
  type WindowDoc,
  windowIdPrefix,
} from "@iot/shared";
import type { HubFeed, WireItem } from "./hub.ts";
import {
  type Frame,
  type Subscription,
  toWireAlert,
  toWireDeadLetter,
  toWireStats,
  toWireWindow,
  type WireAlert,
  type WireWindow,
} from "../lib/wire.ts";
import { SENSOR_ID_RE } from "../routes/params.ts";

/** What a sensor-dashboard client asked for. */
export interface SensorSubscription {
  types?: Set<string>;
  locations?: Set<string>;
  sensor?: string;
  kind: string;
  size: number;
}

/** Parses a browser subscription message; undefined when malformed. */
export function parseSubscription(text: string): SensorSubscription | undefined {
  if (text.length > 4096) return undefined;
  let msg: Subscription;
  try {
    msg = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof msg !== "object" || msg === null || msg.t !== "sub") return undefined;
  const list = (v: unknown, ok: (s: unknown) => boolean) =>
    v === undefined ? [] : Array.isArray(v) && v.length <= 20 && v.every(ok) ? v as string[] : undefined;
  const types = list(msg.types, isVocabularyName);
  const locations = list(msg.locations, isVocabularyName);
  if (!types || !locations) return undefined;
  if (msg.sensor !== undefined && (typeof msg.sensor !== "string" || !SENSOR_ID_RE.test(msg.sensor))) return undefined;
  const kind = msg.kind ?? "type_location";
  const size = msg.size ?? 10;
  if ((kind !== "type_location" && kind !== "sensor") || (size !== 10 && size !== 60)) return undefined;
  return {
    types: types.length ? new Set(types) : undefined,
    locations: locations.length ? new Set(locations) : undefined,
    sensor: msg.sensor,
    kind,
    size,
  };
}

function matchesSensor(f: SensorSubscription, doc: { sensor_type: string; location: string; sensor_id?: string }) {
  if (f.sensor && doc.sensor_id !== f.sensor) return false;
  if (f.types && !f.types.has(doc.sensor_type)) return false;
  if (f.locations && !f.locations.has(doc.location)) return false;
  return true;
}

/** The sensor dashboard's feed. */
export const sensorFeed: HubFeed<SensorSubscription> = {
  collections: [
    // The type × location windows (written every 100 ms) have a stream of their own; the per-sensor ones
    // (thousands at each flush) are read only while a client follows a sensor.
    {
      key: "windows",
      collection: COLLECTIONS.windows,
      pollField: "updated_at",
      idPrefix: windowIdPrefix("type_location"),
    },
    {
      key: "windows",
      collection: COLLECTIONS.windows,
      pollField: "updated_at",
      idPrefix: windowIdPrefix("sensor"),
      wanted: (s) => s.kind === "sensor",
    },
    { key: "alerts", collection: COLLECTIONS.incidents, pollField: "updated_at" },
    { key: "stats", collection: COLLECTIONS.pipelineStats, pollField: "updated_at" },
    { key: "deadLetters", collection: COLLECTIONS.deadLetters, pollField: "failed_at" },
  ],
  parse(data) {
    const subscription = typeof data === "string" ? parseSubscription(data) : undefined;
    return subscription ? { ok: true, subscription } : { ok: false, reason: "Malformed message" };
  },
  toWire(key: string, doc: Document): WireItem | undefined {
    switch (key) {
      case "windows":
        return toWireWindow(doc as WindowDoc);
      case "alerts":
        return toWireAlert(doc as AlertDoc);
      case "stats":
        return toWireStats(doc as PipelineStatsDoc);
      case "deadLetters":
        return toWireDeadLetter(doc as DeadLetterDoc);
    }
    return undefined;
  },
  matches(key, item, f) {
    if (key === "windows") {
      const w = item as WireWindow;
      return w.kind === f.kind && w.size_s === f.size && matchesSensor(f, w);
    }
    if (key === "alerts") return matchesSensor(f, item as WireAlert);
    return true;
  },
  hello: (modes, now): Frame => ({ t: "hello", modes, now }),
  modeFrame: (modes): Frame => ({ t: "mode", modes }),
  defaults: { flushMs: 50, maxPending: 5000, idleStopMs: 60_000 },
};
