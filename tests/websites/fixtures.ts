/** Website documents in the shapes of `shared/website.ts`, as the processor writes them. */
import type { Db } from "mongodb";
import { COLLECTIONS, type RecentCheck, type WebsiteAlertDoc, type WebsiteMetricsDoc } from "@iot/shared";

/** A fixed event time. */
export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/** A rolling document: ten checks, all up or half down. */
export function rolling(url: string, name: string, up: boolean, updated = T0): WebsiteMetricsDoc {
  const recent: RecentCheck[] = Array.from(
    { length: 10 },
    (_, i) => ({ t: T0 + i * 1000, ms: 100 + i, up: up || i < 5 }),
  );
  return {
    _id: `${url}|rolling`,
    kind: "rolling",
    url,
    name,
    category: "test",
    size_s: 0,
    checks: 10,
    up: up ? 10 : 5,
    uptime_pct: up ? 100 : 50,
    avg_ms: 104.5,
    min_ms: 100,
    max_ms: 109,
    p95_ms: 109,
    last_check: new Date(T0 + 9000),
    last_is_up: up,
    last_status_code: up ? 200 : 500,
    last_response_ms: 109,
    last_error: up ? null : "HTTP 500",
    recent,
    updated_at: new Date(updated),
  };
}

/** A WEBSITE_DOWN alert. */
export function alert(url: string, state: "firing" | "resolved", lastSeen: number): WebsiteAlertDoc {
  return {
    _id: `${url}|WEBSITE_DOWN|${lastSeen}`,
    type: "WEBSITE_DOWN",
    rule: "WEBSITE_DOWN",
    severity: "critical",
    url,
    name: "Shop",
    category: "test",
    value: 500,
    threshold: 0,
    message: "Shop is down: HTTP 500",
    first_seen: new Date(lastSeen - 1000),
    last_seen: new Date(lastSeen),
    count: 2,
    state,
    resolved_at: state === "resolved" ? new Date(lastSeen) : undefined,
    acknowledged: false,
    updated_at: new Date(lastSeen),
  };
}

/** Two targets (Shop down, API up), a window and two alerts of Shop. */
export async function seed(db: Db): Promise<void> {
  const metrics = db.collection<WebsiteMetricsDoc>(COLLECTIONS.websiteMetrics);
  await metrics.insertMany([
    rolling("http://127.0.0.1:1/shop", "Shop", false),
    rolling("http://127.0.0.1:1/api", "API", true),
    {
      ...rolling("http://127.0.0.1:1/api", "API", true),
      _id: `http://127.0.0.1:1/api|${T0}|60`,
      kind: "window",
      size_s: 60,
      window_start: new Date(T0),
      window_end: new Date(T0 + 60_000),
      recent: undefined,
      samples: [100, 109],
    },
  ]);
  await db.collection<WebsiteAlertDoc>(COLLECTIONS.websiteAlerts).insertMany([
    alert("http://127.0.0.1:1/shop", "resolved", T0 + 2000),
    alert("http://127.0.0.1:1/shop", "firing", T0 + 1000),
  ]);
}
