/** The producer's Prometheus metrics and the small server of `/metrics` and `/healthz`. */
import { type Logger, PROMETHEUS_CONTENT_TYPE, Registry } from "@iot/shared";

/** The producer's metrics. */
export class ProducerMetrics {
  readonly registry = new Registry();
  readonly acked = this.registry.counter("producer_messages_acked_total", "Records acknowledged by the broker");
  readonly sent = this.registry.counter("producer_messages_sent_total", "Records handed to the Kafka client");
  readonly failed = this.registry.counter("producer_messages_failed_total", "Records that failed definitively");
  readonly refused = this.registry.counter(
    "producer_messages_refused_total",
    "Records refused for their size (above the topic's max.message.bytes)",
  );
  readonly inFlight = this.registry.gauge("producer_in_flight_messages", "Records sent and not yet acknowledged");
  readonly lag = this.registry.gauge(
    "producer_schedule_lag_seconds",
    "How far sending trails the target rate schedule",
  );
  readonly target = this.registry.gauge("producer_target_rate", "Target messages per second (0 = as fast as possible)");
  readonly latency = this.registry.histogram(
    "producer_batch_latency_seconds",
    "Time from enqueue to acknowledgement of a batch",
  );
}

/** What `/healthz` reports: whether the program is healthy, and a few counters shown beside it. */
export interface ProducerHealth {
  healthy: boolean;
  [field: string]: number | boolean;
}

/** Options of `serveProducerMetrics`. */
export interface MetricsServerOptions {
  port: number;
  /** Address to listen on (default `0.0.0.0`, so that a container's Prometheus can scrape it). */
  hostname?: string;
  /** Whose registry `/metrics` renders: the sensor producer's or the checker's. */
  metrics: { registry: Registry };
  health: () => ProducerHealth;
  /** Called with the port once listening. */
  onListen: (port: number) => void;
  logger: Logger;
}

/**
 * Serves `/metrics` (Prometheus text) and `/healthz` (200 when healthy, 503 before) for the producer's
 * sources: the sensor fleet and the HTTP checker.
 */
export function serveProducerMetrics(o: MetricsServerOptions): Deno.HttpServer {
  return Deno.serve({
    port: o.port,
    hostname: o.hostname ?? "0.0.0.0",
    onListen: (addr) => {
      const port = (addr as Deno.NetAddr).port;
      o.onListen(port);
      o.logger.info("Metrics at /metrics", { port });
    },
  }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/metrics") {
      return new Response(o.metrics.registry.render(), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } });
    }
    if (path === "/healthz") {
      const { healthy, ...fields } = o.health();
      return Response.json({ status: healthy ? "ok" : "starting", ...fields }, { status: healthy ? 200 : 503 });
    }
    return Response.json({ error: "Not found" }, { status: 404 });
  });
}
