/**
 * HTTP uptime monitoring source of the producer: targets, a single check, and
 * the checker loop that publishes checks to `website-checks`.
 * @module
 */
export { type CheckerHandle, type CheckerOptions, type CheckerResult, startChecker } from "./checker.ts";
export { checkLine, type CheckOptions, checkTarget } from "./check.ts";
export { CheckerMetrics, RESPONSE_BUCKETS } from "./metrics.ts";
export { loadTargets, parseTargets, TARGET_DEFAULTS, type WebsiteTarget } from "./targets.ts";
export { httpMain, type Source, SOURCES, splitSource } from "./main.ts";
