/**
 * Website incidents: the one incident engine (`../stages/alert_lifecycle.ts`)
 * with a url as subject. One open incident per url groups its rules; it opens
 * once a rule's condition persisted (`WEBSITE_DOWN`: two failed checks in a
 * row) and resolves once every rule is clear. Produces writes and
 * announcements; does no I/O.
 */
import type { WebsiteAlertDoc } from "@iot/shared";
import type { Clock } from "../clock.ts";
import {
  AlertLifecycle,
  type AlertSubjectSpec,
  type AlertWriteOf,
  type LifecycleEvent,
  type RulePolicy,
} from "../stages/alert_lifecycle.ts";

/** What the processor writes: every field except those the web app and the notifier own. */
export type WebsiteAlertWrite = AlertWriteOf<WebsiteAlertDoc>;

/** A website incident announcement, published to `website-alerts`. */
export type WebsiteAlertEvent = LifecycleEvent<WebsiteAlertWrite>;

/** The target an evaluation is about. */
export interface WebsiteSubject {
  url: string;
  name: string;
  category: string;
}

/**
 * Default rule timings of website incidents: `WEBSITE_DOWN` after two failed
 * checks in a row (one failed check is a blip), cleared by the first check up;
 * the rolling rules (`HIGH_RESPONSE_TIME`, `LOW_UPTIME`) already judge several
 * checks, so they fire and clear at once.
 */
export const DEFAULT_WEBSITE_POLICY: RulePolicy = {
  default: { for: {}, clear: {} },
  WEBSITE_DOWN: { for: { readings: 2 }, clear: {} },
};

/** The url subject of the engine. */
export const WEBSITE_SUBJECT: AlertSubjectSpec<WebsiteSubject, WebsiteAlertWrite> = {
  keyOf: (s) => s.url,
  keyOfAlert: (d) => d.url,
  fields: (s) => ({ url: s.url, name: s.name, category: s.category }),
  labels: (d) => ({ url: d.url, category: d.category }),
};

/** Tracks open website incidents and collects pending writes and announcements. */
export class WebsiteAlertManager extends AlertLifecycle<WebsiteSubject, WebsiteAlertWrite> {
  constructor(policy: RulePolicy = DEFAULT_WEBSITE_POLICY, now?: Clock) {
    super(WEBSITE_SUBJECT, { policy, now });
  }

  /** Forgets the state of `url` (it is reloaded from the database). */
  forget(url: string): void {
    this.retain((key) => key !== url);
  }
}
