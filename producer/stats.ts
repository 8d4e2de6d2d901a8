/** Running statistics of a producer: counts, rates, latency percentiles and distributions. */
import { SENSOR_TYPES, type SensorType } from "@iot/shared";
import { LogHistogram } from "./histogram.ts";

/** Status of a record as counted in statistics. */
export type CountedStatus = "normal" | "anomaly" | "malformed";

/** One statistics report (a stats line, or the final block). */
export interface StatsSnapshot {
  /** Seconds since the producer started sending. */
  elapsed_s: number;
  /** Records acknowledged by the broker. */
  total: number;
  /** Records handed to the client (acknowledged, failed or in flight). */
  sent: number;
  /** Records that failed definitively (after the client's retries). */
  errors: number;
  /** Of `errors`: records refused for their size (above the topic's max.message.bytes). */
  refused: number;
  /** errors / (total + errors). */
  error_rate: number;
  /** Acknowledged records per second over the last interval. */
  rate_now: number;
  /** Acknowledged records per second since the start. */
  rate_avg: number;
  /** Target rate (0: as fast as possible). */
  target_rate: number;
  /** Send latency (acknowledged − enqueued), in ms: of the last interval for periodic reports, of the run when final. */
  latency_ms: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** Acknowledged records per sensor type. */
  by_type: Record<SensorType, number>;
  /** Acknowledged records per generated status. */
  by_status: Record<CountedStatus, number>;
  /** Acknowledged intentional duplicates (included in `total`). */
  duplicates: number;
  /** Records in flight now. */
  in_flight: number;
  /** How far sending trails the schedule, in ms. */
  lag_ms: number;
  /** Whether the producer could not keep up with the target rate during the interval. */
  behind: boolean;
  /** Whether this is the final report. */
  final: boolean;
}

/** A batch's composition, counted when it is acknowledged. */
export interface BatchTally {
  count: number;
  byType: Record<SensorType, number>;
  byStatus: Record<CountedStatus, number>;
  duplicates: number;
}

/** An empty tally. */
export function emptyTally(): BatchTally {
  return {
    count: 0,
    byType: Object.fromEntries(SENSOR_TYPES.map((t) => [t, 0])) as Record<SensorType, number>,
    byStatus: { normal: 0, anomaly: 0, malformed: 0 },
    duplicates: 0,
  };
}

/** Accumulates what the producer did; `snapshot` produces a report and starts a new interval. */
export class ProducerStats {
  #start: number;
  #lastAt: number;
  #lastTotal = 0;
  #total = 0;
  #sent = 0;
  #errors = 0;
  #refused = 0;
  #run = new LogHistogram();
  #interval = new LogHistogram();
  #tally = emptyTally();
  #behindInInterval = false;

  constructor(readonly targetRate: number, now: number) {
    this.#start = now;
    this.#lastAt = now;
  }

  /** Restarts the clock (when sending begins, after connecting). */
  restart(now: number): void {
    this.#start = now;
    this.#lastAt = now;
  }

  /** Records acknowledged so far. */
  get total(): number {
    return this.#total;
  }

  /** Records that failed definitively so far. */
  get errors(): number {
    return this.#errors;
  }

  /** Records handed to the client so far. */
  get sent(): number {
    return this.#sent;
  }

  /** Counts a batch handed to the client. */
  onSent(count: number): void {
    this.#sent += count;
  }

  /** Counts an acknowledged batch and its latency (ms). */
  onAcked(tally: BatchTally, latencyMs: number): void {
    this.#total += tally.count;
    this.#run.record(latencyMs, tally.count);
    this.#interval.record(latencyMs, tally.count);
    for (const t of SENSOR_TYPES) this.#tally.byType[t] += tally.byType[t];
    this.#tally.byStatus.normal += tally.byStatus.normal;
    this.#tally.byStatus.anomaly += tally.byStatus.anomaly;
    this.#tally.byStatus.malformed += tally.byStatus.malformed;
    this.#tally.duplicates += tally.duplicates;
  }

  /** Counts records that failed definitively; `refused` of them for their size. */
  onFailed(count: number, refused = 0): void {
    this.#errors += count;
    this.#refused += refused;
  }

  /** Records refused for their size so far. */
  get refused(): number {
    return this.#refused;
  }

  /** Notes that the producer trails its schedule. */
  onBehind(): void {
    this.#behindInInterval = true;
  }

  /** The report at `now`; starts a new interval. */
  snapshot(now: number, state: { inFlight: number; lagMs: number; final: boolean }): StatsSnapshot {
    const elapsed = Math.max(1e-9, (now - this.#start) / 1000);
    const intervalS = Math.max(1e-9, (now - this.#lastAt) / 1000);
    const lat = (state.final ? this.#run : this.#interval).summary();
    const done = this.#total + this.#errors;
    const snap: StatsSnapshot = {
      elapsed_s: round(elapsed, 3),
      total: this.#total,
      sent: this.#sent,
      errors: this.#errors,
      refused: this.#refused,
      error_rate: done ? round(this.#errors / done, 6) : 0,
      rate_now: round((this.#total - this.#lastTotal) / intervalS, 1),
      rate_avg: round(this.#total / elapsed, 1),
      target_rate: this.targetRate,
      latency_ms: {
        p50: round(lat.p50, 2),
        p95: round(lat.p95, 2),
        p99: round(lat.p99, 2),
        max: round(lat.max, 2),
        mean: round(lat.mean, 2),
      },
      by_type: { ...this.#tally.byType },
      by_status: { ...this.#tally.byStatus },
      duplicates: this.#tally.duplicates,
      in_flight: state.inFlight,
      lag_ms: Math.round(state.lagMs),
      behind: this.#behindInInterval,
      final: state.final,
    };
    this.#lastAt = now;
    this.#lastTotal = this.#total;
    this.#interval.reset();
    this.#behindInInterval = false;
    return snap;
  }
}

/** Renders a report as a readable block for terminals. */
export function formatStats(s: StatsSnapshot): string {
  const pct = (n: number) => (s.total ? ((100 * n) / s.total).toFixed(1) : "0.0") + "%";
  const types = SENSOR_TYPES.map((t) => `${t} ${s.by_type[t]} (${pct(s.by_type[t])})`).join(", ");
  const statuses = (["normal", "anomaly", "malformed"] as const)
    .filter((k) => k !== "malformed" || s.by_status.malformed > 0)
    .map((k) => `${k} ${s.by_status[k]} (${pct(s.by_status[k])})`).join(", ");
  const target = s.target_rate ? `${s.target_rate} msg/s` : "max";
  const lines = [
    `── ${s.final ? "final stats" : "stats"} at ${s.elapsed_s.toFixed(1)} s ──`,
    `  total ${s.total}  sent ${s.sent}  in flight ${s.in_flight}  errors ${s.errors} (${
      (100 * s.error_rate).toFixed(3)
    }%)${s.refused ? `, ${s.refused} refused as too large` : ""}`,
    `  rate now ${s.rate_now.toFixed(0)} msg/s  avg ${s.rate_avg.toFixed(0)} msg/s  target ${target}${
      s.behind ? `  FALLING BEHIND (lag ${s.lag_ms} ms)` : ""
    }`,
    `  latency ${
      s.final ? "(run)" : "(interval)"
    } p50 ${s.latency_ms.p50} ms  p95 ${s.latency_ms.p95} ms  p99 ${s.latency_ms.p99} ms  max ${s.latency_ms.max} ms`,
    `  by type: ${types}`,
    `  by status: ${statuses}${s.duplicates ? `, duplicates ${s.duplicates}` : ""}`,
  ];
  return lines.join("\n");
}

function round(v: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(v * f) / f;
}
