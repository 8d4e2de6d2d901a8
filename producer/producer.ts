/**
 * The producer runtime: connects (`connect.ts`), generates the fleet's
 * records on an open-loop schedule, sends them in batches with several
 * requests in flight through a client adapter (`record_sender.ts`), keeps
 * statistics and metrics, and flushes on stop.
 */
import type { Kafka } from "kafkajs";
import { createKafka, createLogger, type KafkaSecurity, type Logger, securityProtocol, TOPICS } from "@iot/shared";
import { connectSender, ProducerConnectError } from "./connect.ts";
import { Delivery } from "./delivery.ts";
import { FleetGenerator, type GeneratedRecord, type ScenarioOptions } from "./generator.ts";
import { KAFKAJS_RETRIES, kafkajsSender, kafkaLogger } from "./kafkajs_sender.ts";
import { ProducerMetrics, serveProducerMetrics } from "./metrics.ts";
import { randomSeed } from "./random.ts";
import { RateController } from "./rate.ts";
import { nativeSender, type RecordSender, type SenderOptions } from "./record_sender.ts";
import { ProducerStats, type StatsSnapshot } from "./stats.ts";

export { ProducerConnectError };

/** Acknowledgement level: all in-sync replicas, the leader only, or none. */
export type Acks = "all" | "1" | "0";

/** Compression of record batches. */
export type Compression = "none" | "gzip";

/** Kafka client: the built-in lean producer (fast) or kafkajs. */
export type ClientKind = "native" | "kafkajs";

/** Options of `startProducer` / `runProducer`. Only `brokers` is required. */
export interface ProducerOptions {
  /** Bootstrap servers, `host:port`. */
  brokers: string[];
  /** Topic of readings (default `sensor-data`). */
  topic?: string;
  /** Partitions when the topic has to be created (default 3). */
  partitions?: number;
  /** Target messages per second; 0 = as fast as possible (default 1000). */
  rate?: number;
  /** Number of simulated sensors (default 1000). */
  sensors?: number;
  /** Stop after this many seconds (default: run until stopped). */
  durationS?: number;
  /** Stop after this many records (default: no limit). */
  count?: number;
  /** Seed of the generator (default: random, reported in the result). */
  seed?: number;
  /** Probability of an anomaly spike per reading (default 0.05). */
  anomalyRate?: number;
  /** Fault scenarios (all off by default). */
  scenarios?: ScenarioOptions;
  /** Acknowledgement level (default `all`). */
  acks?: Acks;
  /** Kafka client sending the records (default `native`; kafkajs still creates the topic). */
  client?: ClientKind;
  /** Idempotent producer (default: true when acks is `all`). */
  idempotent?: boolean;
  /** Batch compression (default none). */
  compression?: Compression;
  /** Largest number of records per send (default 2000). */
  batchSize?: number;
  /** Sends in flight at once (default 4; 1 with the kafkajs client when idempotent). */
  maxInFlight?: number;
  /** Least wait between batches when nothing is due, in ms (default 5). */
  lingerMs?: number;
  /**
   * Retries of a failed batch before it fails definitively (kafkajs: default 10;
   * native: no count by default, the delivery timeout bounds them).
   */
  retries?: number;
  /** Native client: time from a send to its definitive outcome, like `delivery.timeout.ms` (default 120 000 ms). */
  deliveryTimeoutMs?: number;
  /**
   * Unacknowledged records at most (default 100 000): a partition without a
   * leader buffers up to this while the others keep flowing; then generating waits.
   */
  bufferRecords?: number;
  /** Interval of statistics reports in seconds (default 10; 0 = only the final one). */
  statsIntervalS?: number;
  /** Receives every statistics report, the final one included. */
  onStats?: (stats: StatsSnapshot) => void;
  /** Deadline to reach the broker and create the topic, in ms (default 30000). */
  connectTimeoutMs?: number;
  /** Deadline to flush in-flight sends on stop, in ms (default 30000). */
  flushTimeoutMs?: number;
  /** Port of `/metrics` and `/healthz` (default: no server). */
  metricsPort?: number;
  /** Prefix of the Kafka client id (default `iot-pipeline`). */
  clientId?: string;
  /** TLS and SASL of the Kafka connections, both clients (default: plain TCP, no authentication). */
  security?: KafkaSecurity;
  logger?: Logger;
  /** Stops the producer when aborted (same as `handle.stop()`). */
  signal?: AbortSignal;
}

/** What a finished run did. */
export interface ProducerResult {
  /** The final statistics report. */
  stats: StatsSnapshot;
  /** Records acknowledged by the broker. */
  acknowledged: number;
  /** Records that failed definitively, or were still unacknowledged when the flush deadline passed. */
  failed: number;
  /** Of `failed`: records refused for their size (above the topic's `max.message.bytes`). */
  refused: number;
  /** Of `failed`: records still unacknowledged when the flush deadline passed. */
  abandoned: number;
  /** The generator seed, to reproduce the run. */
  seed: number;
  /** Per-sensor next sequence number, i.e. readings generated per sensor. */
  sequences: Map<string, number>;
}

/** A running producer. */
export interface ProducerHandle {
  /** Resolves when the broker is reached and the topic exists; rejects like `done` if that fails. */
  readonly ready: Promise<void>;
  /** Resolves when the producer has stopped and flushed. Rejects when it could not connect. */
  readonly done: Promise<ProducerResult>;
  /** Stops generating, flushes, and resolves with the result. */
  stop(): Promise<ProducerResult>;
  /** A statistics report now (without starting a new interval for periodic reports). */
  current(): { total: number; sent: number; errors: number };
  /** The port of the metrics server, once listening. */
  readonly metricsPort: number | undefined;
}

const ACKS: Record<Acks, -1 | 0 | 1> = { all: -1, "1": 1, "0": 0 };

/**
 * Starts a producer and returns a handle to watch and stop it: it connects
 * (creating the topic if missing), then generates the fleet's readings on the
 * rate schedule until the duration or count is reached or `stop()` is called,
 * and flushes within `flushTimeoutMs`.
 *
 * @example
 * ```ts
 * import { startProducer } from "@iot/producer";
 * const handle = startProducer({ brokers: ["127.0.0.1:9092"], rate: 1000, sensors: 100 });
 * await handle.ready; // the broker is reached and the topic exists
 * setTimeout(() => handle.stop(), 10_000);
 * const { acknowledged, failed } = await handle.done;
 * console.log(`${acknowledged} acknowledged, ${failed} failed`);
 * ```
 */
export function startProducer(options: ProducerOptions): ProducerHandle {
  const run = new ProducerRun(options);
  const done = run.run();
  return {
    ready: run.ready,
    done,
    stop: () => {
      run.requestStop();
      return done;
    },
    current: () => ({ total: run.stats.total, sent: run.stats.sent, errors: run.stats.errors }),
    get metricsPort() {
      return run.metricsPort;
    },
  };
}

/** Runs a producer until its duration or count is reached, or `signal` aborts; resolves with the result. */
export function runProducer(options: ProducerOptions): Promise<ProducerResult> {
  return startProducer(options).done;
}

class ProducerRun {
  readonly o: Required<
    Omit<
      ProducerOptions,
      | "durationS"
      | "count"
      | "seed"
      | "onStats"
      | "metricsPort"
      | "logger"
      | "signal"
      | "idempotent"
      | "retries"
      | "bufferRecords"
    >
  >;
  readonly log: Logger;
  readonly seed: number;
  readonly idempotent: boolean;
  /** Sends in flight at once (the option, except for kafkajs when idempotent). */
  readonly sendsInFlight: number;
  readonly stats: ProducerStats;
  readonly ready: Promise<void>;
  metricsPort: number | undefined;
  #resolveReady!: () => void;
  #rejectReady!: (e: unknown) => void;
  readonly retries: number | undefined;
  readonly bufferRecords: number;
  #stopRequested = false;
  #wake: (() => void) | undefined;
  #stopped: Promise<void>;
  #onStop!: () => void;
  #delivery: Delivery | undefined;
  #rate: RateController | undefined;
  #healthy = false;
  #connected = false;
  #metrics = new ProducerMetrics();

  constructor(readonly options: ProducerOptions) {
    this.o = {
      brokers: options.brokers,
      topic: options.topic ?? TOPICS.readings,
      partitions: options.partitions ?? 3,
      rate: options.rate ?? 1000,
      sensors: options.sensors ?? 1000,
      anomalyRate: options.anomalyRate ?? 0.05,
      scenarios: options.scenarios ?? {},
      acks: options.acks ?? "all",
      compression: options.compression ?? "none",
      batchSize: options.batchSize ?? 2000,
      maxInFlight: options.maxInFlight ?? 4,
      lingerMs: options.lingerMs ?? 5,
      deliveryTimeoutMs: options.deliveryTimeoutMs ?? 120_000,
      statsIntervalS: options.statsIntervalS ?? 10,
      connectTimeoutMs: options.connectTimeoutMs ?? 30_000,
      flushTimeoutMs: options.flushTimeoutMs ?? 30_000,
      clientId: options.clientId ?? "iot-pipeline",
      client: options.client ?? "native",
      security: options.security ?? {},
    };
    this.idempotent = options.idempotent ?? this.o.acks === "all";
    if (this.idempotent && this.o.acks !== "all") {
      throw new RangeError("An idempotent producer needs acks=all");
    }
    if (!Number.isSafeInteger(this.o.maxInFlight) || this.o.maxInFlight < 1) {
      throw new RangeError(`maxInFlight must be a positive integer, got ${this.o.maxInFlight}`);
    }
    // kafkajs' idempotent producer fails concurrent sends with OUT_OF_ORDER_SEQUENCE_NUMBER
    // when one of them is retried (e.g. after a broker restart): one send at a time.
    this.sendsInFlight = this.o.client === "kafkajs" && this.idempotent ? 1 : this.o.maxInFlight;
    this.retries = options.retries ?? (this.o.client === "kafkajs" ? KAFKAJS_RETRIES : undefined);
    this.bufferRecords = Math.max(options.bufferRecords ?? 100_000, this.sendsInFlight * this.o.batchSize);
    this.#stopped = new Promise((r) => this.#onStop = r);
    this.log = options.logger ?? createLogger({ name: "producer" });
    this.seed = options.seed ?? randomSeed();
    this.stats = new ProducerStats(this.o.rate, performance.now());
    this.ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {}); // observed through `done`
    if (options.signal?.aborted) this.#stopRequested = true;
    options.signal?.addEventListener("abort", () => this.requestStop(), { once: true });
  }

  requestStop(): void {
    this.#stopRequested = true;
    this.#onStop();
    this.#wake?.();
  }

  async run(): Promise<ProducerResult> {
    const generator = new FleetGenerator({
      sensors: this.o.sensors,
      seed: this.seed,
      anomalyRate: this.o.anomalyRate,
      scenarios: this.o.scenarios,
    });
    const server = this.#serveMetrics();
    let producer: RecordSender | undefined;
    let statsTimer: ReturnType<typeof setInterval> | undefined;
    try {
      const kafka = await createKafka({ brokers: this.o.brokers, clientId: this.o.clientId, ...this.o.security }, {
        role: "producer",
        logger: kafkaLogger(this.log, () => !this.#connected),
        // kafkajs gives up on a broker after its client-level retries: make them as patient as the sends'.
        overrides: { retry: { initialRetryTime: 100, retries: Math.max(8, this.retries ?? 10), maxRetryTime: 5000 } },
      });
      try {
        producer = await this.#connect(kafka);
      } catch (e) {
        this.#rejectReady(e);
        throw e;
      }
      this.#connected = true;
      this.#healthy = true;
      this.#resolveReady();
      this.log.info("Producing", {
        brokers: this.o.brokers.join(","),
        topic: this.o.topic,
        rate: this.o.rate || "max",
        duration_s: this.options.durationS ?? "until stopped",
        count: this.options.count ?? "no limit",
        sensors: this.o.sensors,
        seed: this.seed,
        acks: this.o.acks,
        idempotent: this.idempotent,
        compression: this.o.compression,
        client: this.o.client,
        security: securityProtocol(this.o.security),
      });
      const delivery = this.#delivery = new Delivery({
        sender: producer,
        stats: this.stats,
        metrics: this.#metrics,
        log: this.log,
        maxSends: this.sendsInFlight,
        maxRecords: this.bufferRecords,
      });
      const start = performance.now();
      const startEpoch = Date.now();
      this.stats.restart(start);
      this.#rate = new RateController({
        rate: this.o.rate,
        start,
        maxBatch: this.o.batchSize,
        lingerMs: this.o.lingerMs,
      });
      if (this.o.statsIntervalS > 0) {
        statsTimer = setInterval(() => this.#report(false), this.o.statsIntervalS * 1000);
      }
      await this.#loop(delivery, generator, start, startEpoch);
      await delivery.flush(this.o.flushTimeoutMs);
    } finally {
      if (statsTimer !== undefined) clearInterval(statsTimer);
      this.#healthy = false;
      await producer?.close().catch((e) => this.log.warn("Disconnect failed", { error: e }));
      await server?.shutdown().catch(() => {});
    }
    const final = this.#report(true);
    const failed = final.errors + (this.#delivery?.records ?? 0);
    return {
      stats: final,
      acknowledged: final.total,
      failed,
      refused: final.refused,
      abandoned: this.#delivery?.abandoned ?? 0,
      seed: this.seed,
      sequences: generator.sequences(),
    };
  }

  #connect(kafka: Kafka): Promise<RecordSender> {
    const options: SenderOptions = {
      brokers: this.o.brokers,
      clientId: `${this.o.clientId}-producer`,
      topic: this.o.topic,
      acks: ACKS[this.o.acks],
      idempotent: this.idempotent,
      compression: this.o.compression,
      retries: this.retries,
      deliveryTimeoutMs: this.o.deliveryTimeoutMs,
      maxInFlight: this.o.maxInFlight,
      security: this.o.security,
      logger: this.log.child("kafka"),
    };
    if (this.o.client === "kafkajs") {
      this.log.warn(
        "The kafkajs client is known to lose acknowledged records on a leader failover (tulios/kafkajs#1303): " +
          "use the native client with a cluster",
      );
    }
    return connectSender({
      kafka,
      brokers: this.o.brokers,
      topic: this.o.topic,
      partitions: this.o.partitions,
      timeoutMs: this.o.connectTimeoutMs,
      open: () => this.o.client === "native" ? nativeSender(options) : kafkajsSender(kafka, options),
      onAbandon: (abandon) => this.#wake = abandon,
      logger: this.log,
    }).finally(() => this.#wake = undefined);
  }

  /**
   * Generates and sends until the count or duration is reached or a stop is
   * requested. Each reading carries its scheduled measurement time (start +
   * i / rate): a backlog after a stall keeps the schedule's times. At rate 0
   * there is no schedule: readings carry the time they are generated at.
   */
  async #loop(delivery: Delivery, generator: FleetGenerator, start: number, startEpoch: number): Promise<void> {
    const rate = this.#rate!;
    const inFlight = delivery.inFlight;
    const endAt = this.options.durationS !== undefined && this.options.durationS > 0
      ? start + this.options.durationS * 1000
      : Number.POSITIVE_INFINITY;
    const limit = this.options.count ?? Number.POSITIVE_INFINITY;
    let generated = 0;
    let behindLoggedAt = Number.NEGATIVE_INFINITY;
    while (!this.#stopRequested && generated < limit) {
      if (inFlight.full()) {
        // Re-checked at least every 100 ms: a lane may stall meanwhile, and the duration may end.
        await Promise.race([inFlight.changed(100), this.#stopped]);
        if (rate.rate === 0 && performance.now() >= endAt) break;
        continue;
      }
      let now = performance.now();
      // At rate 0 everything is always due: only the clock ends the run.
      if (rate.rate === 0 && now >= endAt) break;
      if (rate.behind(Math.min(now, endAt))) {
        this.stats.onBehind();
        if (now - behindLoggedAt > Math.max(this.o.statsIntervalS, 10) * 1000) {
          behindLoggedAt = now;
          this.log.warn("Falling behind the target rate", { target: this.o.rate, lag_ms: Math.round(rate.lagMs(now)) });
        }
      }
      // A duration ends the schedule: what falls due after it is not sent.
      const first = rate.taken;
      const n = Math.min(rate.take(Math.min(now, endAt)), limit - generated);
      if (n === 0) {
        if (now >= endAt) break;
        await this.#sleep(Math.min(rate.waitMs(now), endAt - now));
        continue;
      }
      const records: GeneratedRecord[] = [];
      if (rate.rate > 0) {
        const step = 1000 / rate.rate;
        generator.fill(records, n, (i) => startEpoch + (first + i) * step);
      } else generator.fill(records, n, Date.now());
      generated += n;
      delivery.send(records);
      now = performance.now();
      this.#metrics.lag.set(rate.lagMs(now) / 1000);
      // At full speed, let timers and I/O run between batches.
      if (!inFlight.full()) await new Promise((r) => setTimeout(r, 0));
    }
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  #report(final: boolean): StatsSnapshot {
    const now = performance.now();
    const snap = this.stats.snapshot(now, {
      inFlight: this.#delivery?.records ?? 0,
      lagMs: this.#rate?.lagMs(now) ?? 0,
      final,
    });
    try {
      this.options.onStats?.(snap);
    } catch (e) {
      this.log.warn("Stats callback failed", { error: e });
    }
    return snap;
  }

  #serveMetrics(): Deno.HttpServer | undefined {
    const port = this.options.metricsPort;
    if (port === undefined || port < 0) return undefined;
    this.#metrics.target.set(this.o.rate);
    return serveProducerMetrics({
      port,
      metrics: this.#metrics,
      health: () => ({ healthy: this.#healthy, acked: this.stats.total, errors: this.stats.errors }),
      onListen: (p) => this.metricsPort = p,
      logger: this.log,
    });
  }
}
