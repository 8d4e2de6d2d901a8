/**
 * The website fold: one decoded check into its url's state — rolling list,
 * tumbling windows, rule evaluation into the alert lifecycle. Pure; the
 * handler loads the state and writes what the fold marked dirty.
 */
import type { WebsiteCheck } from "@iot/shared";
import type { WebsiteAlertManager } from "./alerts.ts";
import { type UrlState, windowId, type WindowState } from "./docs.ts";
import { evaluateRules, WEBSITE_RULES, type WebsiteRuleConfig } from "./rules.ts";
import { pushRecent, ROLLING_SIZE, summarize, windowStart } from "./stats.ts";

/** What a batch's fold changed. */
export interface FoldChanges {
  urls: Set<UrlState>;
  windows: Map<string, { st: UrlState; w: WindowState }>;
}

/** Fresh, empty changes. */
export function noChanges(): FoldChanges {
  return { urls: new Set(), windows: new Map() };
}

/**
 * Folds a check at event time `t` into `st` (unless it is not after the url's
 * last counted check: a replay) and evaluates the rules. Returns whether it counted.
 */
export function foldCheck(
  st: UrlState,
  check: WebsiteCheck,
  t: number,
  o: { windowsS: readonly number[]; rules: WebsiteRuleConfig; alerts: WebsiteAlertManager; changes: FoldChanges },
): boolean {
  if (t <= st.lastT) return false;
  st.lastT = t;
  st.last = check;
  st.name = check.name;
  st.category = check.category;
  const ms = check.status_code === null ? null : check.response_time_ms;
  pushRecent(st.recent, { t, ms, up: check.is_up }, ROLLING_SIZE);
  for (const size of o.windowsS) {
    const start = windowStart(t, size);
    const id = windowId(check.url, start, size);
    let w = st.windows.get(id);
    if (!w) st.windows.set(id, w = { sizeS: size, start, checks: 0, up: 0, samples: [] });
    w.checks++;
    if (check.is_up) w.up++;
    if (ms !== null) w.samples.push(ms);
    o.changes.windows.set(id, { st, w });
  }
  for (const [id, w] of st.windows) if (w.start + 2 * w.sizeS * 1000 < t) st.windows.delete(id);
  const findings = evaluateRules(check, summarize(st.recent), o.rules);
  for (const rule of WEBSITE_RULES) o.alerts.evaluate(st, rule, findings[rule], t);
  o.changes.urls.add(st);
  return true;
}
