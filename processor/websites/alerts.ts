/**
 * Website alert lifecycle, like the sensor alerts: one open alert per (url,
 * rule), updated while the condition holds, resolved on the first clear
 * evaluation. Produces writes and events; does no I/O.
 */
import type { WebsiteAlertDoc, WebsiteAlertRule } from "@iot/shared";
import type { WebsiteFinding } from "./rules.ts";

/** What the processor writes: every field except the `acknowledged*` ones the web app owns. */
export type WebsiteAlertWrite = Omit<WebsiteAlertDoc, "acknowledged" | "acknowledged_at" | "acknowledged_by">;

/** A new or resolved website alert, published to `website-alerts`. */
export interface WebsiteAlertEvent {
  event: "new" | "resolved";
  alert: WebsiteAlertWrite;
}

/** The target an evaluation is about. */
export interface WebsiteSubject {
  url: string;
  name: string;
  category: string;
}

/** The `_id` of a website alert: `url|rule|first_seen_ms`. */
export function websiteAlertId(url: string, rule: WebsiteAlertRule, firstSeen: number): string {
  return `${url}|${rule}|${firstSeen}`;
}

/** A website alert without the web-owned `acknowledged*` fields. */
export function websiteAlertFields(doc: WebsiteAlertWrite | WebsiteAlertDoc): WebsiteAlertWrite {
  const { acknowledged: _a, acknowledged_at: _b, acknowledged_by: _c, ...rest } = doc as WebsiteAlertDoc;
  return rest;
}

/** Tracks open website alerts and collects pending writes and events. */
export class WebsiteAlertManager {
  #open = new Map<string, WebsiteAlertWrite>();
  #pending = new Map<string, WebsiteAlertWrite>();
  #events: WebsiteAlertEvent[] = [];

  /** Adopts alerts firing in the database (the newest per url and rule wins). */
  load(docs: readonly (WebsiteAlertWrite | WebsiteAlertDoc)[]): void {
    for (const d of docs) {
      if (d.state !== "firing") continue;
      const key = `${d.url}|${d.rule}`;
      const cur = this.#open.get(key);
      if (!cur || cur.first_seen.getTime() < d.first_seen.getTime()) this.#open.set(key, websiteAlertFields(d));
    }
  }

  /** Forgets the open alerts of `url` (its state is reloaded from the database). */
  forget(url: string): void {
    for (const [k, v] of [...this.#open]) if (v.url === url) this.#open.delete(k);
  }

  /** Forgets every open alert. */
  clear(): void {
    this.#open.clear();
  }

  /** The open alert of a url and rule, if any. */
  openAlert(url: string, rule: WebsiteAlertRule): WebsiteAlertWrite | undefined {
    return this.#open.get(`${url}|${rule}`);
  }

  /** Applies one evaluation at event time `t`: a finding opens or updates, no finding resolves. */
  evaluate(subject: WebsiteSubject, rule: WebsiteAlertRule, finding: WebsiteFinding | undefined, t: number): void {
    const key = `${subject.url}|${rule}`;
    const cur = this.#open.get(key);
    if (finding) {
      if (!cur) {
        const doc: WebsiteAlertWrite = {
          _id: websiteAlertId(subject.url, rule, t),
          type: rule,
          rule,
          severity: finding.severity,
          url: subject.url,
          name: subject.name,
          category: subject.category,
          value: finding.value,
          threshold: finding.threshold,
          message: finding.message,
          first_seen: new Date(t),
          last_seen: new Date(t),
          count: 1,
          state: "firing",
          updated_at: new Date(),
        };
        this.#open.set(key, doc);
        this.#pending.set(doc._id, doc);
        this.#events.push({ event: "new", alert: { ...doc } });
        return;
      }
      if (t <= cur.last_seen.getTime()) return;
      cur.count++;
      cur.last_seen = new Date(t);
      cur.value = finding.value;
      cur.threshold = finding.threshold;
      cur.message = finding.message;
      cur.updated_at = new Date();
      this.#pending.set(cur._id, cur);
      return;
    }
    if (!cur || t < cur.last_seen.getTime()) return;
    cur.state = "resolved";
    cur.resolved_at = new Date(t);
    cur.updated_at = new Date();
    this.#open.delete(key);
    this.#pending.set(cur._id, cur);
    this.#events.push({ event: "resolved", alert: { ...cur } });
  }

  /** Continues an alert found open in the database instead of our duplicate of it. */
  adopt(existing: WebsiteAlertWrite | WebsiteAlertDoc): void {
    const key = `${existing.url}|${existing.rule}`;
    const cur = this.#open.get(key);
    if (!cur || cur._id === existing._id) return;
    const ours = cur._id;
    this.#pending.delete(ours);
    const merged: WebsiteAlertWrite = {
      ...cur,
      _id: existing._id,
      first_seen: existing.first_seen,
      count: existing.count + cur.count,
    };
    this.#open.set(key, merged);
    this.#pending.set(merged._id, merged);
    this.#events = this.#events.filter((e) => !(e.event === "new" && e.alert._id === ours));
  }

  /** Takes the pending writes and events. */
  drain(): { writes: WebsiteAlertWrite[]; events: WebsiteAlertEvent[] } {
    const writes = [...this.#pending.values()].map((d) => ({ ...d }));
    const events = this.#events;
    this.#pending.clear();
    this.#events = [];
    return { writes, events };
  }
}
