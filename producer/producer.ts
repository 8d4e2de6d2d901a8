/**
 * The producer runtime: connects, creates the topic if missing, generates the
 * fleet's records on an open-loop schedule, sends them in batches with several
 * requests in flight, keeps statistics, and flushes on stop.
 */
import { CompressionTypes, type Kafka, type Message, Partitioners } from "kafkajs";
import {
  createKafka,
  createLogger,
  ensureTopics,
  type Logger,
  PROMETHEUS_CONTENT_TYPE,
  Registry,
  TOPICS,
} from "@iot/shared";
import { FleetGenerator, type GeneratedRecord, type ScenarioOptions } from "./generator.ts";
import { NativeProducer, type SendOutcome } from "./native_client.ts";
import { randomSeed } from "./random.ts";
import { RateController } from "./rate.ts";
import { emptyTally, ProducerStats, type StatsSnapshot } from "./stats.ts";

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
  /** Client retries of a failed send before it fails definitively (default 10). */
  retries?: number;
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

/** The broker could not be reached, or the topic not created, within the connect deadline. */
export class ProducerConnectError extends Error {
  override name = "ProducerConnectError";
}

const ACKS: Record<Acks, number> = { all: -1, "1": 1, "0": 0 };

/** Sends a batch of records and reports how many were acknowledged. */
interface RecordSender {
  send(records: GeneratedRecord[]): Promise<SendOutcome>;
  close(): Promise<void>;
}

/** Starts a producer and returns a handle to watch and stop it. */
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
      "durationS" | "count" | "seed" | "onStats" | "metricsPort" | "logger" | "signal" | "idempotent"
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
  #stopRequested = false;
  #wake: (() => void) | undefined;
  #inFlight = new Set<Promise<void>>();
  #inFlightRecords = 0;
  #rate: RateController | undefined;
  #healthy = false;
  #connected = false;
  #registry = new Registry();
  #metrics = {
    acked: this.#registry.counter("producer_messages_acked_total", "Records acknowledged by the broker"),
    sent: this.#registry.counter("producer_messages_sent_total", "Records handed to the Kafka client"),
    failed: this.#registry.counter("producer_messages_failed_total", "Records that failed definitively"),
    inFlight: this.#registry.gauge("producer_in_flight_messages", "Records sent and not yet acknowledged"),
    lag: this.#registry.gauge("producer_schedule_lag_seconds", "How far sending trails the target rate schedule"),
    target: this.#registry.gauge("producer_target_rate", "Target messages per second (0 = as fast as possible)"),
    latency: this.#registry.histogram(
      "producer_batch_latency_seconds",
      "Time from enqueue to acknowledgement of a batch",
    ),
  };

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
      retries: options.retries ?? 10,
      statsIntervalS: options.statsIntervalS ?? 10,
      connectTimeoutMs: options.connectTimeoutMs ?? 30_000,
      flushTimeoutMs: options.flushTimeoutMs ?? 30_000,
      clientId: options.clientId ?? "iot-pipeline",
      client: options.client ?? "native",
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
      const kafka = await createKafka({ brokers: this.o.brokers, clientId: this.o.clientId }, {
        role: "producer",
        logger: kafkaLogger(this.log, () => !this.#connected),
        // kafkajs gives up on a broker after its client-level retries: make them as patient as the sends'.
        overrides: { retry: { initialRetryTime: 100, retries: Math.max(8, this.o.retries), maxRetryTime: 5000 } },
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
        topic: this.o.topic,
        rate: this.o.rate || "max",
        sensors: this.o.sensors,
        seed: this.seed,
        acks: this.o.acks,
        idempotent: this.idempotent,
        compression: this.o.compression,
        client: this.o.client,
      });
      const start = performance.now();
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
      await this.#loop(producer, generator, start);
      await this.#flush();
    } finally {
      if (statsTimer !== undefined) clearInterval(statsTimer);
      this.#healthy = false;
      await producer?.close().catch((e) => this.log.warn("Disconnect failed", { error: e }));
      await server?.shutdown().catch(() => {});
    }
    const final = this.#report(true);
    const failed = final.errors + this.#inFlightRecords;
    return { stats: final, acknowledged: final.total, failed, seed: this.seed, sequences: generator.sequences() };
  }

  async #connect(kafka: Kafka): Promise<RecordSender> {
    const admin = kafka.admin();
    let sender: RecordSender | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new ProducerConnectError(
            `Cannot reach Kafka at ${this.o.brokers.join(",")} within ${this.o.connectTimeoutMs / 1000} s`,
          ),
        );
      }, this.o.connectTimeoutMs);
    });
    const slow = setTimeout(() => {
      this.log.warn("Kafka is not reachable yet; retrying until the connect deadline", {
        brokers: this.o.brokers.join(","),
        deadline_s: this.o.connectTimeoutMs / 1000,
      });
    }, Math.min(3000, this.o.connectTimeoutMs / 2));
    const stopped = new Promise<never>((_, reject) => {
      this.#wake = () => reject(new ProducerConnectError("Stopped before Kafka was reached"));
    });
    let abandoned = false;
    try {
      await Promise.race([
        (async () => {
          await admin.connect();
          const created = await ensureTopics(admin, [{ topic: this.o.topic, numPartitions: this.o.partitions }]);
          if (created.length) this.log.info("Created topic", { topic: this.o.topic, partitions: this.o.partitions });
          const s = this.o.client === "native" ? await this.#nativeSender() : await this.#kafkajsSender(kafka);
          if (abandoned) await s.close();
          else sender = s;
        })(),
        deadline,
        stopped,
      ]);
      return sender!;
    } catch (e) {
      abandoned = true;
      await sender?.close().catch(() => {});
      throw e;
    } finally {
      this.#wake = undefined;
      clearTimeout(timer);
      clearTimeout(slow);
      await admin.disconnect().catch(() => {});
    }
  }

  async #nativeSender(): Promise<RecordSender> {
    const native = await NativeProducer.connect({
      brokers: this.o.brokers,
      clientId: `${this.o.clientId}-producer`,
      topic: this.o.topic,
      acks: ACKS[this.o.acks] as -1 | 0 | 1,
      idempotent: this.idempotent,
      compression: this.o.compression,
      retries: this.o.retries,
      maxInFlight: this.o.maxInFlight,
      logger: this.log.child("kafka"),
    });
    return {
      send: (records) => native.send(records, Date.now()),
      close: () => Promise.resolve(native.close()),
    };
  }

  async #kafkajsSender(kafka: Kafka): Promise<RecordSender> {
    const producer = kafka.producer({
      idempotent: this.idempotent,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      maxInFlightRequests: this.idempotent ? 1 : undefined,
      retry: { retries: this.o.retries, initialRetryTime: 100, maxRetryTime: 5000 },
    });
    await producer.connect();
    const acks = ACKS[this.o.acks];
    const compression = this.o.compression === "gzip" ? CompressionTypes.GZIP : CompressionTypes.None;
    return {
      send: (records) => {
        const messages: Message[] = records.map((r) => ({ key: r.key, value: r.value as string }));
        return producer.send({ topic: this.o.topic, acks, timeout: 30_000, compression, messages }).then(
          () => ({ acked: records.length, failed: 0 }),
          (e) => ({ acked: 0, failed: records.length, error: e as Error }),
        );
      },
      close: () => producer.disconnect(),
    };
  }

  async #loop(producer: RecordSender, generator: FleetGenerator, start: number): Promise<void> {
    const rate = this.#rate!;
    const endAt = this.options.durationS !== undefined && this.options.durationS > 0
      ? start + this.options.durationS * 1000
      : Number.POSITIVE_INFINITY;
    const limit = this.options.count ?? Number.POSITIVE_INFINITY;
    let generated = 0;
    let behindLoggedAt = Number.NEGATIVE_INFINITY;
    while (!this.#stopRequested && generated < limit) {
      while (this.#inFlight.size >= this.sendsInFlight) await Promise.race(this.#inFlight);
      let now = performance.now();
      if (rate.behind(Math.min(now, endAt))) {
        this.stats.onBehind();
        if (now - behindLoggedAt > Math.max(this.o.statsIntervalS, 10) * 1000) {
          behindLoggedAt = now;
          this.log.warn("Falling behind the target rate", { target: this.o.rate, lag_ms: Math.round(rate.lagMs(now)) });
        }
      }
      // A duration ends the schedule: what falls due after it is not sent.
      const n = Math.min(rate.take(Math.min(now, endAt)), limit - generated);
      if (n === 0) {
        if (now >= endAt) break;
        await this.#sleep(Math.min(rate.waitMs(now), endAt - now));
        continue;
      }
      const records: GeneratedRecord[] = [];
      generator.fill(records, n, Date.now());
      generated += n;
      this.#send(producer, records);
      now = performance.now();
      this.#metrics.lag.set(rate.lagMs(now) / 1000);
      // At full speed, let timers and I/O run between batches.
      if (this.#inFlight.size < this.sendsInFlight) await new Promise((r) => setTimeout(r, 0));
    }
  }

  #send(producer: RecordSender, records: GeneratedRecord[]): void {
    const tally = emptyTally();
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      tally.byType[r.sensorType]++;
      tally.byStatus[r.status]++;
      if (r.kind === "duplicate") tally.duplicates++;
    }
    tally.count = records.length;
    const enqueued = performance.now();
    this.stats.onSent(tally.count);
    this.#metrics.sent.inc(tally.count);
    this.#inFlightRecords += tally.count;
    this.#metrics.inFlight.set(this.#inFlightRecords);
    const p: Promise<void> = producer.send(records)
      .catch((e: unknown): SendOutcome => ({ acked: 0, failed: records.length, error: e as Error }))
      .then((outcome) => {
        const latency = performance.now() - enqueued;
        if (outcome.failed === 0) this.stats.onAcked(tally, latency);
        else {
          // Partly acknowledged: the distributions count whole batches only.
          if (outcome.acked > 0) this.stats.onAcked({ ...emptyTally(), count: outcome.acked }, latency);
          this.stats.onFailed(outcome.failed);
          this.#metrics.failed.inc(outcome.failed);
          this.log.error("Send failed definitively", { records: outcome.failed, error: outcome.error });
        }
        if (outcome.acked > 0) {
          this.#metrics.acked.inc(outcome.acked);
          this.#metrics.latency.observe(latency / 1000);
        }
      })
      .finally(() => {
        this.#inFlightRecords -= tally.count;
        this.#metrics.inFlight.set(this.#inFlightRecords);
        this.#inFlight.delete(p);
      });
    this.#inFlight.add(p);
  }

  async #flush(): Promise<void> {
    if (this.#inFlight.size === 0) return;
    this.log.info("Flushing", { in_flight: this.#inFlightRecords });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      Promise.allSettled([...this.#inFlight]).then(() => false),
      new Promise<boolean>((r) => timer = setTimeout(() => r(true), this.o.flushTimeoutMs)),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.log.error("Flush deadline passed with records unacknowledged", { in_flight: this.#inFlightRecords });
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
      inFlight: this.#inFlightRecords,
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
    const server = Deno.serve({
      port,
      hostname: "0.0.0.0",
      onListen: (addr) => {
        this.metricsPort = (addr as Deno.NetAddr).port;
        this.log.info("Metrics at /metrics", { port: this.metricsPort });
      },
    }, (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/metrics") {
        return new Response(this.#registry.render(), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } });
      }
      if (path === "/healthz") {
        const body = { status: this.#healthy ? "ok" : "starting", acked: this.stats.total, errors: this.stats.errors };
        return Response.json(body, { status: this.#healthy ? 200 : 503 });
      }
      return Response.json({ error: "Not found" }, { status: 404 });
    });
    return server;
  }
}

// kafkajs warns on every idempotent producer with bounded retries. Bounded
// retries are deliberate here: a send that still fails is counted as failed
// (and the exit code says so) instead of blocking shutdown forever.
const RETRY_NOTICE = /Limiting retries for the idempotent producer/;

/**
 * The logger given to kafkajs: drops the retry notice, and while connecting
 * turns kafkajs' per-attempt connection errors (with stacks) into debug lines;
 * the producer reports a failed connect once, clearly.
 */
function kafkaLogger(logger: Logger, connecting: () => boolean): Logger {
  const wrap = (inner: Logger): Logger => ({
    name: inner.name,
    debug: (m, f) => inner.debug(m, f),
    info: (m, f) => inner.info(m, f),
    warn: (m, f) => RETRY_NOTICE.test(m) ? inner.debug(m, f) : inner.warn(m, f),
    error: (m, f) => connecting() ? inner.debug(m, f) : inner.error(m, f),
    child: (name) => wrap(inner.child(name)),
    enabled: (level) => inner.enabled(level),
  });
  return wrap(logger);
}
