/**
 * Website alerts: the one alert lifecycle (`../stages/alert_lifecycle.ts`)
 * with a url as subject. One open alert per (url, rule), updated while the
 * condition holds, resolved once clear for the hold time (default 0: on the
 * first clear evaluation). Produces writes and events; does no I/O.
 */
import type { WebsiteAlertDoc, WebsiteAlertRule } from "@iot/shared";
import type { Clock } from "../clock.ts";
import {
  alertId,
  AlertLifecycle,
  type AlertSubjectSpec,
  type AlertWriteOf,
  type LifecycleEvent,
} from "../stages/alert_lifecycle.ts";

/** What the processor writes: every field except the `acknowledged*` ones the web app owns. */
export type WebsiteAlertWrite = AlertWriteOf<WebsiteAlertDoc>;

/** A new or resolved website alert, published to `website-alerts`. */
export type WebsiteAlertEvent = LifecycleEvent<WebsiteAlertWrite>;

/** The target an evaluation is about. */
export interface WebsiteSubject {
  url: string;
  name: string;
  category: string;
}

/** The `_id` of a website alert: `url|rule|first_seen_ms`. */
export function websiteAlertId(url: string, rule: WebsiteAlertRule, firstSeen: number): string {
  return alertId(url, rule, firstSeen);
}

/** The url subject of the lifecycle. */
export const WEBSITE_SUBJECT: AlertSubjectSpec<WebsiteSubject, WebsiteAlertWrite> = {
  keyOf: (s) => s.url,
  keyOfAlert: (d) => d.url,
  fields: (s) => ({ url: s.url, name: s.name, category: s.category }),
};

/** Tracks open website alerts and collects pending writes and events. */
export class WebsiteAlertManager extends AlertLifecycle<WebsiteSubject, WebsiteAlertWrite> {
  constructor(holdMs = 0, now?: Clock) {
    super(WEBSITE_SUBJECT, { holdMs, now });
  }

  /** Forgets the open alerts of `url` (its state is reloaded from the database). */
  forget(url: string): void {
    this.retain((key) => key !== url);
  }
}
