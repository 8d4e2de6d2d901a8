/**
 * The websites page's live feed (`/ws/websites`): the rolling statistics of
 * every target (`website_metrics`, kind "rolling") and the website alerts.
 * Every client gets everything; the browser sends nothing (a message closes
 * its socket).
 */
import type { Document } from "mongodb";
import { COLLECTIONS, type WebsiteAlertDoc, type WebsiteMetricsDoc } from "@iot/shared";
import type { HubFeed } from "./hub.ts";
import { toWireSite, toWireWebsiteAlert, type WebsiteFrame } from "../lib/website_wire.ts";

/** The websites feed (no subscription: an empty object for every client). */
export const websiteFeed: HubFeed<Record<never, never>> = {
  collections: [
    { key: "sites", collection: COLLECTIONS.websiteMetrics, pollField: "updated_at" },
    { key: "alerts", collection: COLLECTIONS.websiteAlerts, pollField: "updated_at" },
  ],
  initial: {},
  parse: () => ({ ok: false, reason: "Unexpected message" }),
  toWire(key: string, doc: Document) {
    if (key === "sites") {
      return (doc as WebsiteMetricsDoc).kind === "rolling" ? toWireSite(doc as WebsiteMetricsDoc) : undefined;
    }
    return toWireWebsiteAlert(doc as WebsiteAlertDoc);
  },
  matches: () => true,
  hello: (_modes, now): WebsiteFrame => ({ t: "hello", now }),
  // Feeds cost the database a cursor (and the stand-in a busy loop): none without clients.
  defaults: { flushMs: 250, idleStopMs: 0 },
};
