/**
 * The processor's second handler: website checks → rolling and window
 * statistics, uptime incidents, `website_metrics` / `website_alerts`.
 * @module
 */
export {
  startWebsiteProcessor,
  type WebsiteProcessorHandle,
  type WebsiteProcessorOptions,
  type WebsiteProcessorStats,
} from "./handler.ts";
export {
  DEFAULT_WEBSITE_RULES,
  evaluateRules,
  WEBSITE_RULES,
  type WebsiteFinding,
  type WebsiteRuleConfig,
} from "./rules.ts";
export { percentile, pushRecent, ROLLING_SIZE, summarize, windowStart } from "./stats.ts";
export {
  DEFAULT_WEBSITE_POLICY,
  type WebsiteAlertEvent,
  WebsiteAlertManager,
  type WebsiteAlertWrite,
  type WebsiteSubject,
} from "./alerts.ts";
