/**
 * Alert lifecycle: one open alert per (sensor, rule), updated while the
 * condition holds, resolved after it stayed clear for a hold time. Produces
 * the document updates to write and the events to publish; does no I/O.
 */
import type { AlertDoc, AlertRule, AlertState, Location, SensorType, Severity } from "@iot/shared";
import type { Finding } from "./detectors.ts";

/** The sensor an evaluation is about. */
export interface AlertSubject {
  sensor_id: string;
  sensor_type: SensorType;
  location: Location;
}

/** What the processor writes for an alert: every field except the `acknowledged*` ones the web app owns. */
export type AlertWrite = Omit<AlertDoc, "acknowledged" | "acknowledged_at" | "acknowledged_by">;

/** A new or resolved alert, published to the alerts topic. */
export interface AlertEvent {
  event: "new" | "resolved";
  alert: AlertWrite;
}

interface OpenAlert {
  doc: AlertWrite;
  clearSince?: number;
}

/** The `_id` of an alert: `sensor_id|rule|first_seen_ms`. */
export function alertId(sensorId: string, rule: AlertRule, firstSeen: number): string {
  return `${sensorId}|${rule}|${firstSeen}`;
}

const WEB_OWNED = new Set(["acknowledged", "acknowledged_at", "acknowledged_by"]);

/** An alert document without the fields the web app owns (`acknowledged*`), which the processor never writes. */
export function processorFields(doc: AlertWrite | AlertDoc): AlertWrite {
  return Object.fromEntries(Object.entries(doc).filter(([k]) => !WEB_OWNED.has(k))) as AlertWrite;
}

const SEVERITY_RANK: Record<Severity, number> = { warning: 0, critical: 1 };

/** Tracks open alerts and collects pending writes and events. */
export class AlertManager {
  #open = new Map<string, OpenAlert>();
  #pending = new Map<string, AlertWrite>();
  #events: AlertEvent[] = [];

  constructor(readonly holdMs: number) {}

  /** Replaces the open alerts by those firing in the database (after a rebalance: the database is the truth). */
  reset(docs: readonly AlertWrite[]): void {
    this.#open.clear();
    this.load(docs);
  }

  /** Adopts alerts that are firing in the database (at start or after a rebalance). */
  load(docs: readonly AlertWrite[]): void {
    for (const d of docs) {
      if (d.state !== "firing") continue;
      const key = `${d.sensor_id}|${d.rule}`;
      const cur = this.#open.get(key);
      if (!cur || cur.doc.first_seen.getTime() < d.first_seen.getTime()) {
        this.#open.set(key, { doc: processorFields(d) });
      }
    }
  }

  /** The open alert of a sensor and rule, if any. */
  openAlert(sensorId: string, rule: AlertRule): AlertWrite | undefined {
    return this.#open.get(`${sensorId}|${rule}`)?.doc;
  }

  /** Number of open alerts. */
  get openCount(): number {
    return this.#open.size;
  }

  /**
   * Applies one evaluation of `rule` at time `t` (epoch ms): a finding opens or
   * updates the alert, no finding starts or continues the hold before resolving.
   */
  evaluate(subject: AlertSubject, rule: AlertRule, finding: Finding | undefined, t: number): void {
    const key = `${subject.sensor_id}|${rule}`;
    const cur = this.#open.get(key);
    if (finding) {
      if (!cur) {
        const doc: AlertWrite = {
          _id: alertId(subject.sensor_id, rule, t),
          type: rule,
          rule,
          severity: finding.severity,
          sensor_id: subject.sensor_id,
          sensor_type: subject.sensor_type,
          location: subject.location,
          value: finding.value,
          threshold: finding.threshold,
          baseline: finding.baseline,
          message: finding.message,
          first_seen: new Date(t),
          last_seen: new Date(t),
          count: 1,
          state: "firing",
          updated_at: new Date(),
        };
        this.#open.set(key, { doc });
        this.#pending.set(doc._id, doc);
        this.#events.push({ event: "new", alert: { ...doc } });
        return;
      }
      cur.clearSince = undefined;
      // A replayed or out-of-order reading does not count twice.
      if (t <= cur.doc.last_seen.getTime()) return;
      const d = cur.doc;
      d.count++;
      d.last_seen = new Date(t);
      d.value = finding.value;
      d.threshold = finding.threshold;
      d.baseline = finding.baseline;
      d.message = finding.message;
      if (SEVERITY_RANK[finding.severity] > SEVERITY_RANK[d.severity]) d.severity = finding.severity;
      d.updated_at = new Date();
      this.#pending.set(d._id, d);
      return;
    }
    if (!cur) return;
    if (cur.clearSince === undefined) {
      cur.clearSince = t;
      if (this.holdMs > 0) return;
    }
    if (t - cur.clearSince >= this.holdMs) this.#resolve(key, cur, t);
  }

  #resolve(key: string, cur: OpenAlert, t: number): void {
    const d = cur.doc;
    d.state = "resolved" satisfies AlertState;
    d.resolved_at = new Date(t);
    d.updated_at = new Date();
    this.#open.delete(key);
    this.#pending.set(d._id, d);
    this.#events.push({ event: "resolved", alert: { ...d } });
  }

  /** Replaces the open alert of a sensor and rule by one found in the database (duplicate open alert). */
  adopt(existing: AlertWrite | AlertDoc): void {
    const key = `${existing.sensor_id}|${existing.rule}`;
    const cur = this.#open.get(key);
    if (!cur || cur.doc._id === existing._id) return;
    const ours = cur.doc._id;
    this.#pending.delete(ours);
    const merged: AlertWrite = {
      ...processorFields(cur.doc),
      _id: existing._id,
      first_seen: existing.first_seen,
      count: existing.count + cur.doc.count,
    };
    cur.doc = merged;
    this.#pending.set(merged._id, merged);
    // It is not a new alert after all: no "new" event for the duplicate.
    this.#events = this.#events.filter((e) => !(e.event === "new" && e.alert._id === ours));
  }

  /** Takes the pending writes and events (the caller writes, then publishes). */
  drain(): { writes: AlertWrite[]; events: AlertEvent[] } {
    const writes = [...this.#pending.values()].map((d) => ({ ...d }));
    const events = this.#events;
    this.#pending.clear();
    this.#events = [];
    return { writes, events };
  }

  /** Puts writes and events back after a failed flush, so nothing is lost. */
  restore(batch: { writes: AlertWrite[]; events: AlertEvent[] }): void {
    for (const w of batch.writes) if (!this.#pending.has(w._id)) this.#pending.set(w._id, w);
    this.#events = [...batch.events, ...this.#events];
  }

  /** Forgets open alerts of sensors this instance no longer owns. */
  retain(owns: (sensorId: string) => boolean): void {
    for (const [k, v] of [...this.#open]) if (!owns(v.doc.sensor_id)) this.#open.delete(k);
  }
}
