/** The HTTP checker's Prometheus metrics: checks by target and result, response times, last status per target. */
import { Registry, type WebsiteCheck } from "@iot/shared";

/** Response-time buckets (seconds): from a local answer to a target's longest timeout. */
export const RESPONSE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30];

/** The checker's metrics, served on `/metrics` with `--metrics-port`. */
export class CheckerMetrics {
  readonly registry = new Registry();
  readonly checks = this.registry.counter(
    "checker_checks_total",
    "Checks published, by target (name and url) and result (up, down)",
  );
  readonly failed = this.registry.counter("checker_publish_failed_total", "Checks that could not be published");
  readonly responseSeconds = this.registry.histogram(
    "checker_response_seconds",
    "Response time of checks that got an HTTP answer",
    RESPONSE_BUCKETS,
  );
  readonly up = this.registry.gauge("checker_target_up", "Last check of the target: 1 up, 0 down");
  readonly lastStatus = this.registry.gauge(
    "checker_last_status_code",
    "HTTP status of the target's last check (0: no answer)",
  );
  readonly targets = this.registry.gauge("checker_targets", "Targets being checked");

  /** Counts one published check. */
  record(check: WebsiteCheck): void {
    const target = { target: check.name, url: check.url };
    this.checks.inc(1, { ...target, result: check.is_up ? "up" : "down" });
    if (check.status_code !== null) this.responseSeconds.observe(check.response_time_ms / 1000);
    this.up.set(check.is_up ? 1 : 0, target);
    this.lastStatus.set(check.status_code ?? 0, target);
  }
}
