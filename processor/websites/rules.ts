/** The website alert rules: pure evaluation of a check and the rolling statistics. */
import type { Severity, WebsiteAlertRule, WebsiteCheck, WebsiteStats } from "@iot/shared";

/** Thresholds of the website rules. */
export interface WebsiteRuleConfig {
  /** HIGH_RESPONSE_TIME fires when the rolling average exceeds this (ms). */
  responseTimeMs: number;
  /** LOW_UPTIME fires when the rolling uptime is below this (percent). */
  minUptimePct: number;
  /** Rolling rules wait for this many checks before judging a target. */
  minChecks: number;
}

/** Default thresholds: 3 s average, 95 % uptime, judged after 5 checks. */
export const DEFAULT_WEBSITE_RULES: WebsiteRuleConfig = { responseTimeMs: 3000, minUptimePct: 95, minChecks: 5 };

/** The rules, in evaluation order. */
export const WEBSITE_RULES: readonly WebsiteAlertRule[] = ["WEBSITE_DOWN", "HIGH_RESPONSE_TIME", "LOW_UPTIME"];

/** A rule's condition holds. */
export interface WebsiteFinding {
  severity: Severity;
  value: number;
  threshold: number;
  message: string;
}

/** Evaluates every rule for one check and the rolling statistics after it; a rule without finding is clear. */
export function evaluateRules(
  check: WebsiteCheck,
  rolling: WebsiteStats,
  config: WebsiteRuleConfig,
): Record<WebsiteAlertRule, WebsiteFinding | undefined> {
  const judged = rolling.checks >= config.minChecks;
  return {
    WEBSITE_DOWN: check.is_up ? undefined : {
      severity: "critical",
      value: check.status_code ?? 0,
      threshold: 0,
      message: `${check.name} is down: ${check.error ?? "check failed"}`,
    },
    HIGH_RESPONSE_TIME: judged && rolling.avg_ms !== null && rolling.avg_ms > config.responseTimeMs
      ? {
        severity: "warning",
        value: rolling.avg_ms,
        threshold: config.responseTimeMs,
        message:
          `${check.name} responds slowly: ${rolling.avg_ms} ms on average over the last ${rolling.checks} checks`,
      }
      : undefined,
    LOW_UPTIME: judged && rolling.uptime_pct < config.minUptimePct
      ? {
        severity: "critical",
        value: rolling.uptime_pct,
        threshold: config.minUptimePct,
        message: `${check.name} uptime is ${rolling.uptime_pct} % over the last ${rolling.checks} checks`,
      }
      : undefined,
  };
}
