/**
 * The one alert lifecycle of the processor, generic over the subject (a
 * sensor, a website): one open alert per (subject, rule), updated while the
 * condition holds, resolved after it stayed clear for a hold time. Produces
 * the document updates to write and the events to publish; does no I/O.
 * The sensor alerts (`alerts.ts`) and the website alerts
 * (`websites/alerts.ts`) are this lifecycle with their subject fields.
 */
import type { AlertBase, Severity } from "@iot/shared";
import { type Clock, systemClock } from "../clock.ts";

/** What the processor writes for an alert: every field except the `acknowledged*` ones the web app owns. */
export type AlertWriteOf<D extends AlertBase> = Omit<D, "acknowledged" | "acknowledged_at" | "acknowledged_by">;

/** Any alert write (the lifecycle fields without `acknowledged*`). */
export type AnyAlertWrite = AlertWriteOf<AlertBase>;

/** An alert write or the stored document it came from (which may carry the web app's `acknowledged*`). */
export type StoredAlert<W> = W & Partial<Pick<AlertBase, "acknowledged" | "acknowledged_at" | "acknowledged_by">>;

/** A new or resolved alert, published to an alerts topic. */
export interface LifecycleEvent<W> {
  event: "new" | "resolved";
  alert: W;
}

/** Why a rule fired: what the alert document records of it. */
export interface AlertFinding {
  severity: Severity;
  value: number;
  threshold: number;
  message: string;
  baseline?: number;
}

/** How a lifecycle names its subjects and fills their fields. */
export interface AlertSubjectSpec<S, W extends AnyAlertWrite> {
  /** The key of an evaluated subject (sensor id, url). */
  keyOf(subject: S): string;
  /** The key of the subject of an alert document. */
  keyOfAlert(doc: W): string;
  /** The subject's fields of a new alert document. */
  fields(subject: S): Omit<W, keyof AnyAlertWrite | "baseline">;
}

/** Options of `AlertLifecycle`. */
export interface AlertLifecycleOptions {
  /** Condition clear this long (evaluation time) before an alert resolves; 0 resolves on the first clear evaluation. */
  holdMs: number;
  /** Wall clock of `updated_at`, epoch ms. */
  now?: Clock;
}

interface OpenAlert<W> {
  doc: W;
  clearSince?: number;
}

/** The `_id` of an alert: `subject|rule|first_seen_ms`. */
export function alertId(subjectKey: string, rule: string, firstSeen: number): string {
  return `${subjectKey}|${rule}|${firstSeen}`;
}

const WEB_OWNED = new Set(["acknowledged", "acknowledged_at", "acknowledged_by"]);

/** An alert document without the fields the web app owns (`acknowledged*`), which the processor never writes. */
export function processorFields<W extends AnyAlertWrite>(doc: StoredAlert<W>): W {
  return Object.fromEntries(Object.entries(doc).filter(([k]) => !WEB_OWNED.has(k))) as W;
}

const SEVERITY_RANK: Record<Severity, number> = { warning: 0, critical: 1 };

/** Tracks open alerts of one kind of subject and collects pending writes and events. */
export class AlertLifecycle<S, W extends AnyAlertWrite> {
  #open = new Map<string, OpenAlert<W>>();
  #pending = new Map<string, W>();
  #events: LifecycleEvent<W>[] = [];
  readonly holdMs: number;
  readonly #now: Clock;

  constructor(readonly spec: AlertSubjectSpec<S, W>, options: AlertLifecycleOptions) {
    this.holdMs = options.holdMs;
    this.#now = options.now ?? systemClock;
  }

  #key(subjectKey: string, rule: string): string {
    return `${subjectKey}|${rule}`;
  }

  /** Replaces the open alerts by those firing in the database (after a rebalance: the database is the truth). */
  reset(docs: readonly StoredAlert<W>[]): void {
    this.#open.clear();
    this.load(docs);
  }

  /** Adopts alerts that are firing in the database (the newest per subject and rule wins). */
  load(docs: readonly StoredAlert<W>[]): void {
    for (const d of docs) {
      if (d.state !== "firing") continue;
      const key = this.#key(this.spec.keyOfAlert(d), d.rule);
      const cur = this.#open.get(key);
      if (!cur || cur.doc.first_seen.getTime() < d.first_seen.getTime()) {
        this.#open.set(key, { doc: processorFields(d) });
      }
    }
  }

  /** The open alert of a subject and rule, if any. */
  openAlert(subjectKey: string, rule: W["rule"]): W | undefined {
    return this.#open.get(this.#key(subjectKey, rule))?.doc;
  }

  /** Number of open alerts. */
  get openCount(): number {
    return this.#open.size;
  }

  /**
   * Applies one evaluation of `rule` at time `t` (epoch ms): a finding opens or
   * updates the alert, no finding starts or continues the hold before resolving.
   * A clear evaluation older than the alert's last finding (a replay) changes nothing.
   */
  evaluate(subject: S, rule: W["rule"], finding: AlertFinding | undefined, t: number): void {
    const subjectKey = this.spec.keyOf(subject);
    const key = this.#key(subjectKey, rule);
    const cur = this.#open.get(key);
    if (finding) {
      if (!cur) {
        const doc = {
          _id: alertId(subjectKey, rule, t),
          type: rule,
          rule,
          severity: finding.severity,
          ...this.spec.fields(subject),
          value: finding.value,
          threshold: finding.threshold,
          ...(finding.baseline === undefined ? {} : { baseline: finding.baseline }),
          message: finding.message,
          first_seen: new Date(t),
          last_seen: new Date(t),
          count: 1,
          state: "firing",
          updated_at: new Date(this.#now()),
        } as unknown as W;
        this.#open.set(key, { doc });
        this.#pending.set(doc._id, doc);
        this.#events.push({ event: "new", alert: { ...doc } });
        return;
      }
      cur.clearSince = undefined;
      // A replayed or out-of-order evaluation does not count twice.
      if (t <= cur.doc.last_seen.getTime()) return;
      const d = cur.doc as AnyAlertWrite & { baseline?: number };
      d.count++;
      d.last_seen = new Date(t);
      d.value = finding.value;
      d.threshold = finding.threshold;
      if (finding.baseline !== undefined) d.baseline = finding.baseline;
      d.message = finding.message;
      if (SEVERITY_RANK[finding.severity] > SEVERITY_RANK[d.severity]) d.severity = finding.severity;
      d.updated_at = new Date(this.#now());
      this.#pending.set(d._id, cur.doc);
      return;
    }
    if (!cur || t < cur.doc.last_seen.getTime()) return;
    if (cur.clearSince === undefined) {
      cur.clearSince = t;
      if (this.holdMs > 0) return;
    }
    if (t - cur.clearSince >= this.holdMs) this.#resolve(key, cur, t);
  }

  #resolve(key: string, cur: OpenAlert<W>, t: number): void {
    const d = cur.doc;
    d.state = "resolved";
    d.resolved_at = new Date(t);
    d.updated_at = new Date(this.#now());
    this.#open.delete(key);
    this.#pending.set(d._id, d);
    this.#events.push({ event: "resolved", alert: { ...d } });
  }

  /** Replaces the open alert of a subject and rule by one found in the database (duplicate open alert). */
  adopt(existing: StoredAlert<W>): void {
    const key = this.#key(this.spec.keyOfAlert(existing), existing.rule);
    const cur = this.#open.get(key);
    if (!cur || cur.doc._id === existing._id) return;
    const ours = cur.doc._id;
    this.#pending.delete(ours);
    const merged: W = {
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
  drain(): { writes: W[]; events: LifecycleEvent<W>[] } {
    const writes = [...this.#pending.values()].map((d) => ({ ...d }));
    const events = this.#events;
    this.#pending.clear();
    this.#events = [];
    return { writes, events };
  }

  /** Puts writes and events back after a failed flush, so nothing is lost. */
  restore(batch: { writes: W[]; events: LifecycleEvent<W>[] }): void {
    for (const w of batch.writes) if (!this.#pending.has(w._id)) this.#pending.set(w._id, w);
    this.#events = [...batch.events, ...this.#events];
  }

  /** Forgets open alerts whose subject fails `keep` (no longer owned, reloaded from the database). */
  retain(keep: (subjectKey: string) => boolean): void {
    for (const [k, v] of [...this.#open]) if (!keep(this.spec.keyOfAlert(v.doc))) this.#open.delete(k);
  }

  /** Forgets every open alert. */
  clear(): void {
    this.#open.clear();
  }
}
