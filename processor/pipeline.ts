/**
 * The stream processor's wiring: source → stages → sinks → flush → commit.
 *
 * 1. The source (`source/consumer.ts`) fetches a batch of one partition.
 * 2. Decode (`stages/decode.ts`): valid readings, judged late or replayed; rejected records.
 * 3. Raw readings and dead letters are written in the background (`sinks/raw.ts`, `sinks/dead_letters.ts`).
 *    Where readings carry `seq`, the sequence stage (`stages/sequence.ts`) counts gaps, reorders and
 *    restarts per sensor; it never gates storage.
 * 4. Windows (`stages/window_state.ts`): this partition's stored parts are loaded once, readings folded.
 * 5. The batch is tracked (`source/offsets.ts`): once its writes are acknowledged, detection runs
 *    (`stages/detect.ts`) and its offset becomes committable.
 * 6. About once a second and at stop, the flush waits for the writes, writes windows, anomaly events and
 *    incidents (`sinks/windows.ts`, `sinks/events.ts`, `alerting.ts`), publishes incident announcements
 *    (and hands them to the webhook), and then commits. In between, every `liveFlushIntervalMs`, the
 *    type × location windows alone are written, committing nothing (`flush_cadence.ts`): in the
 *    background, one attempt, while batches go on; window loads and writes take turns (`#windowLock`).
 *
 * The operations side (`ops/`): /metrics and /healthz, the `pipeline_stats` heartbeat, retention,
 * stand-in differences.
 */
import type { Admin, Batch, Kafka } from "kafkajs";
import type { Collection, MongoClient } from "mongodb";
import {
  COLLECTIONS,
  createKafka,
  createLogger,
  createMongoClient,
  ensureSchema,
  ensureTopics,
  type Logger,
  type PipelineStatsDoc,
  retry,
  type WindowKind,
} from "@iot/shared";
import { type Clock, systemClock } from "./clock.ts";
import { SerialLock, within } from "./concurrency.ts";
import type { ProcessorConfig } from "./config.ts";
import { FlushCadence } from "./flush_cadence.ts";
import { createProcessorMetrics, type ProcessorMetrics } from "./metrics.ts";
import { LagMedian, processorStatsDoc, RateMeter } from "./ops/heartbeat.ts";
import { serveOps } from "./ops/http.ts";
import { deleteExpired } from "./ops/retention.ts";
import { adaptToStandIn, OPEN_ALERT_INDEXES } from "./ops/stand_in.ts";
import { type Alerting, startAlerting } from "./alerting.ts";
import { EventSink } from "./sinks/events.ts";
import { DeadLetterSink, topicMaxMessageBytes } from "./sinks/dead_letters.ts";
import { RawSink, type RawWriteResult } from "./sinks/raw.ts";
import { isRetriable } from "./sinks/errors.ts";
import { type OwnedPublisher, type RecordPublisher, usePublisher } from "./sinks/publisher.ts";
import { AbandonedError, createRetrier } from "./sinks/retrying.ts";
import { WindowSink } from "./sinks/windows.ts";
import { Committer } from "./source/committer.ts";
import { OffsetTracker, type PartitionOffset } from "./source/offsets.ts";
import { type Source, startSource } from "./source/consumer.ts";
import { AlertManager, type AlertSubject, type AlertWrite } from "./stages/alerts.ts";
import { decodeBatch, type Valid } from "./stages/decode.ts";
import { Detection } from "./stages/detect.ts";
import { SEQ_EVENT_KINDS, type SeqCounts, SequenceStage } from "./stages/sequence.ts";
import { Watermarks } from "./stages/watermark.ts";
import { WindowState } from "./stages/window_state.ts";
import { StageTimer } from "./stage_timer.ts";

/** Counters of one processor instance. */
export interface ProcessorStats {
  instance: string;
  consumed: number;
  stored: number;
  invalid: number;
  late: number;
  /** Readings the detectors judged (stored for the first time, not late). */
  checked: number;
  deadLetters: number;
  windowsWritten: number;
  alertsNew: number;
  alertsResolved: number;
  mongoRetries: number;
  assigned: number[];
  /** Next offset to commit, per partition, as committed. */
  committed: Record<string, number>;
  lag: Record<string, number>;
  e2eLagMs: number;
  openWindows: number;
  openAlerts: number;
  /** Seconds spent per stage (raw_write, window_load, window_write, ...). */
  stageSeconds: Record<string, number>;
  /**
   * Consumed records by outcome, each counted once its writes settled: `stored`, `replay` (the same
   * Kafka record fetched again), `duplicate` (the same reading `_id` from another record), `dead_lettered`,
   * `late`, `abandoned` (its writes gave up or the stop abandoned them: it is read again), `consume_only`.
   */
  outcomes: Record<string, number>;
  /** Dead-lettered records by reason (their sum is `outcomes.dead_lettered`). */
  deadLetteredByReason: Record<string, number>;
  /** Sequence events of readings that carry `seq` (see `stages/sequence.ts`): observed, never refused. */
  seq: SeqCounts;
}

/** What a stop did. */
export interface StopReport {
  /** The stop deadline passed or the final flush failed: some fetched records were not committed. */
  abandoned: boolean;
  /** Per owned partition: the committed offset and the offset fetched up to (records between are read again). */
  uncommitted: Record<string, { committed: number | null; fetchedUpTo: number }>;
}

/** A running processor. */
export interface ProcessorHandle {
  /** Resolves once the consumer joined the group and got its partitions. */
  ready: Promise<void>;
  /**
   * Graceful stop within the configured deadline (`stopTimeoutMs`): stop fetching, finish the batch,
   * flush windows and alerts, commit, close. Says what was abandoned.
   */
  stop(): Promise<StopReport>;
  /** Current counters. */
  stats(): ProcessorStats;
  /** The settings in effect. */
  config: ProcessorConfig;
  /** Port of /metrics and /healthz, when served. */
  metricsPort?: number;
  /** The metrics served on /metrics (the website handler adds its own to the registry's). */
  metrics: ProcessorMetrics;
}

/** The sinks of a processor that writes (not consume-only). */
interface Sinks {
  client: MongoClient;
  /** Dead letters and alert events (the native client). */
  publisher: OwnedPublisher;
  raw: RawSink;
  windows: WindowSink;
  /** The same collection without retries: a live write that fails is left to the next flush. */
  liveWindows: WindowSink;
  alerts: Alerting<AlertSubject, AlertWrite>;
  events: EventSink;
  deadLetters: DeadLetterSink;
  stats: Collection<PipelineStatsDoc>;
  rawCol: Collection<import("@iot/shared").ReadingDoc>;
  eventCol: Collection<import("@iot/shared").AnomalyEventDoc>;
}

/** The final commit of a stop waits this long for the group to be joined (after a rebalance or a broker loss). */
const STOP_JOIN_WAIT_MS = 5000;

/** A timed flush waits this long for incident writes and announcements, then leaves them to the background. */
const ALERT_FLUSH_WAIT_MS = 1000;

/** Background writes in flight at once, in batches, before fetching waits. */
const MAX_INFLIGHT_BATCHES = 4;

/** The stream processor. Use `startProcessor`. */
export class Processor {
  readonly log: Logger;
  readonly metrics: ProcessorMetrics;
  readonly ready: Promise<void>;
  readonly #now: Clock;
  #kafka!: Kafka;
  #admin?: Admin;
  #source?: Source;
  #committer?: Committer;
  #sinks?: Sinks;
  #server?: Deno.HttpServer;
  #timers: ReturnType<typeof setInterval>[] = [];

  readonly #offsets = new OffsetTracker();
  readonly #cadence: FlushCadence;
  readonly #marks: Watermarks;
  readonly #windows: WindowState;
  readonly #alerts: AlertManager;
  readonly #detection: Detection;
  readonly #sequence: SequenceStage;
  readonly #stages: StageTimer;
  readonly #lock = new SerialLock();
  /** Window loads and writes, one at a time (a live write runs beside batches). */
  readonly #windowLock = new SerialLock();
  #liveWrite?: Promise<void>;
  /** Aborted when the stop deadline passes: every retry and wait gives up, unwritten data is re-read later. */
  readonly #abandon = new AbortController();
  readonly #rate: RateMeter;
  readonly #e2e = new LagMedian();
  readonly #startedAt: Date;
  #lag: Record<string, number> = {};
  /** Partitions of the readings topic (as last read): owning all of them makes this instance the sole writer. */
  #topicPartitions = 0;
  #flushQueued = false;
  #assignmentValid = false;
  #alertsStale = false;
  #mongoHealthy = true;
  #stopping = false;
  #concurrency = 1;
  #readyResolve!: () => void;
  #stopPromise?: Promise<StopReport>;
  #outcomes: Record<string, number> = {};
  #deadByReason: Record<string, number> = {};
  #totals = {
    consumed: 0,
    stored: 0,
    invalid: 0,
    late: 0,
    checked: 0,
    dead_letters: 0,
    windows_written: 0,
    alerts_new: 0,
    alerts_resolved: 0,
    mongo_retries: 0,
  };

  readonly #publisher?: RecordPublisher;

  /** `publisher`: a shared one (e.g. with the website handler), closed by its owner; default: one of its own. */
  constructor(
    readonly config: ProcessorConfig,
    logger?: Logger,
    clock: Clock = systemClock,
    publisher?: RecordPublisher,
  ) {
    this.#publisher = publisher;
    this.log = logger ?? createLogger({ name: "processor", level: config.log.level, format: config.log.format });
    this.metrics = createProcessorMetrics();
    this.#now = clock;
    this.#startedAt = new Date(clock());
    this.#rate = new RateMeter(clock());
    this.#cadence = new FlushCadence({
      fullMs: config.flushIntervalMs,
      liveMs: config.liveFlushIntervalMs,
      now: clock,
    });
    this.#stages = new StageTimer(this.metrics.stageSeconds);
    this.#alerts = new AlertManager(config.incidentRules, clock);
    this.#detection = new Detection(this.#alerts, config.detectors, config.contract.types);
    this.#sequence = new SequenceStage({ clock });
    this.#marks = new Watermarks({ allowedLatenessMs: config.allowedLatenessMs, idleMs: config.idleMs });
    this.#windows = new WindowState(config.windowsS.map((s) => s * 1000));
    this.ready = new Promise((r) => (this.#readyResolve = r));
  }

  get #abandoned(): boolean {
    return this.#abandon.signal.aborted;
  }

  /**
   * The readings topic's partition count, from metadata (a topic created a
   * moment ago may have no leader yet, which offsets requests would refuse);
   * retried within 30 s while the topic settles.
   */
  #partitionCount(): Promise<number> {
    const topic = this.config.topics.readings;
    return retry(async () => {
      const { topics } = await this.#admin!.fetchTopicMetadata({ topics: [topic] });
      const n = topics.find((t) => t.name === topic)?.partitions.length ?? 0;
      if (n === 0) throw new Error(`Topic ${topic} has no partitions in the metadata yet`);
      return n;
    }, { deadlineMs: 30_000, maxMs: 1000 });
  }

  /** Connects, prepares topics and collections, and starts consuming. */
  async start(): Promise<void> {
    const cfg = this.config;
    this.#kafka = await createKafka(cfg.kafka, { role: "processor", logger: this.log });
    this.#admin = this.#kafka.admin();
    await this.#admin.connect();
    await ensureTopics(this.#admin, [
      { topic: cfg.topics.readings, numPartitions: cfg.partitions },
      { topic: cfg.topics.deadLetters, numPartitions: cfg.partitions },
      { topic: cfg.topics.alerts, numPartitions: 1 },
    ]);
    this.#topicPartitions = await this.#partitionCount();
    if (!cfg.consumeOnly) this.#sinks = await this.#openSinks();
    if (cfg.metricsPort > 0) {
      this.#server = serveOps({
        hostname: cfg.metricsHost,
        port: cfg.metricsPort,
        registry: this.metrics.registry,
        health: () => ({
          consuming: this.#assignmentValid && !this.#stopping,
          mongo: cfg.consumeOnly || this.#mongoHealthy,
          partitions: this.#offsets.assigned,
        }),
      });
    }
    this.#source = await startSource({
      kafka: this.#kafka,
      admin: this.#admin,
      groupId: cfg.groupId,
      topic: cfg.topics.readings,
      fromBeginning: cfg.fromBeginning,
      log: this.log,
      handlers: {
        onRebalancing: () => (this.#assignmentValid = false),
        onAssigned: (partitions) => this.#onAssigned(partitions),
        onCommitted: (offsets) => this.#offsets.knownCommitted(offsets),
        onFatal: () => (this.#assignmentValid = false),
        onBatch: (batch, heartbeat) => this.#onBatch(batch, heartbeat),
      },
    });
    const source = this.#source;
    this.#committer = new Committer({
      commit: (offsets, generation, joinWaitMs) =>
        this.#stages.time("commit", () => source.commit(offsets, generation, joinWaitMs)),
      onCommitted: (done) => this.#offsets.committed(done),
      onFailed: (error, failures) =>
        this.log.warn("Offset commit failed (the next flush offers the offsets again)", { error, failures }),
    });
    this.#startTimers();
    this.log.info("Processor started", {
      instance: cfg.instance,
      group: cfg.groupId,
      topic: cfg.topics.readings,
      windows_s: cfg.windowsS,
      consume_only: cfg.consumeOnly,
      write_concurrency: this.#concurrency,
    });
  }

  async #openSinks(): Promise<Sinks> {
    const cfg = this.config;
    const client = createMongoClient(cfg.mongo, { appName: `processor-${cfg.instance}` });
    try {
      return await this.#openSinksOn(client);
    } catch (e) {
      await client.close().catch(() => {});
      throw e;
    }
  }

  async #openSinksOn(client: MongoClient): Promise<Sinks> {
    const cfg = this.config;
    await client.connect();
    const db = client.db(cfg.mongo.db);
    const report = await ensureSchema(db, cfg.rawRetentionDays);
    for (const w of report.warnings) this.log.warn(w);
    if (report.created.length) this.log.info("Created collections", { created: report.created });
    // ensureSchema created the website incidents' index too: on the stand-in it must go as well.
    const standIn = await adaptToStandIn(db, Object.keys(OPEN_ALERT_INDEXES), this.log);
    this.#concurrency = cfg.writeConcurrency || (standIn ? 1 : 4);
    const publisher = usePublisher(this.#publisher, { kafka: cfg.kafka, logger: this.log });
    const retry = createRetrier({
      log: this.log,
      retries: this.metrics.mongoRetries,
      onRetry: () => this.#totals.mongo_retries++,
      onHealth: (ok) => (this.#mongoHealthy = ok),
      deadlineMs: cfg.retryDeadlineMs,
      signal: this.#abandon.signal,
      now: this.#now,
      isRetriable,
    });
    const maxMessageBytes = await topicMaxMessageBytes(this.#admin!, cfg.topics.deadLetters);
    if (maxMessageBytes === undefined) {
      this.log.warn("Could not read max.message.bytes of the DLQ topic: assuming 1 MB", {
        topic: cfg.topics.deadLetters,
      });
    }
    const sinks: Sinks = {
      client,
      publisher,
      raw: new RawSink(db.collection(COLLECTIONS.readings), retry, this.#concurrency),
      windows: new WindowSink(db.collection(COLLECTIONS.windows), retry, this.log, this.#concurrency),
      liveWindows: new WindowSink(db.collection(COLLECTIONS.windows), (_what, fn) => fn(), this.log, this.#concurrency),
      alerts: startAlerting({
        db,
        collection: COLLECTIONS.incidents,
        subjectField: "sensor_id",
        source: "sensors",
        lifecycle: this.#alerts,
        publisher: publisher.publisher,
        topic: cfg.topics.alerts,
        retry,
        log: this.log,
        now: this.#now,
        webhookUrl: cfg.alertWebhookUrl,
        silencePollMs: cfg.silencePollMs,
        onWritten: (n) => this.metrics.written.inc(n, { collection: COLLECTIONS.incidents }),
        onEvent: (e) => {
          this.metrics.alerts.inc(1, { event: e.event });
          if (e.event === "opened") this.#totals.alerts_new++;
          else if (e.event === "resolved") this.#totals.alerts_resolved++;
        },
        onDelivery: (outcome) => this.metrics.webhook.inc(1, { outcome }),
      }),
      events: new EventSink(db.collection(COLLECTIONS.events), retry),
      deadLetters: new DeadLetterSink({
        publisher: publisher.publisher,
        topic: cfg.topics.deadLetters,
        collection: db.collection(COLLECTIONS.deadLetters),
        retry,
        log: this.log,
        maxMessageBytes,
      }),
      stats: db.collection(COLLECTIONS.pipelineStats),
      rawCol: db.collection(COLLECTIONS.readings),
      eventCol: db.collection(COLLECTIONS.events),
    };
    this.#sinks = sinks;
    await this.#reloadAlerts();
    await sinks.alerts.refreshSilences().catch((e) => this.log.warn("Silences not read", { error: e }));
    return sinks;
  }

  #startTimers(): void {
    const cfg = this.config;
    const tickMs = this.#cadence.live
      ? Math.max(10, Math.floor(cfg.liveFlushIntervalMs / 4))
      : Math.max(100, Math.floor(cfg.flushIntervalMs / 2));
    this.#timers.push(setInterval(() => {
      if (this.#stopping || this.#flushQueued || this.#cadence.untilDue() > 0) return;
      // A live flush starts in the background at once; a full one waits for the batch in progress.
      if (this.#cadence.due() === "live") return void this.#flushDue();
      this.#flushQueued = true;
      this.#lock.run(() => this.#stopping ? Promise.resolve() : this.#flushDueOrRewind())
        .catch((e) => this.log.warn("Timed flush failed", { error: e }))
        .finally(() => (this.#flushQueued = false));
    }, tickMs));
    if (this.#sinks) {
      this.#timers.push(setInterval(() => {
        // Not while writes are failing: readings are held up in the processor, not silent.
        if (!this.#stopping && this.#mongoHealthy) {
          this.#detection.checkSilence(this.#now(), (p) => this.#offsets.owns(p));
        }
      }, 1000));
      this.#timers.push(setInterval(() => this.#retention().catch(() => {}), 3600_000));
      this.#retention().catch(() => {});
    }
    this.#timers.push(setInterval(() => {
      this.#heartbeat().catch((e) => this.log.debug("Heartbeat failed", { error: e }));
    }, cfg.heartbeatMs));
  }

  async #reloadAlerts(heartbeat?: () => Promise<void>): Promise<void> {
    if (!this.#sinks) return;
    // Open incidents of the owned partitions: another instance may have changed those of the others.
    const owned = { partition: { $in: this.#offsets.assigned } };
    this.metrics.openAlerts.set(await this.#sinks.alerts.sink.reload(heartbeat, owned));
  }

  /** Takes an assignment; returns where to resume the partitions kept (`OffsetTracker.resumePositions`). */
  #onAssigned(partitions: number[]): PartitionOffset[] {
    const { revoked, gained } = this.#offsets.assign(partitions);
    const owned = new Set(partitions);
    // Unflushed state of revoked partitions is dropped: the new owner re-reads from the committed offset.
    for (const p of revoked) delete this.#lag[String(p)];
    if (revoked.length) {
      this.#windows.revoke(revoked);
      this.#detection.retain(owned);
      this.#sequence.retain(owned);
      this.metrics.lag.reset();
    }
    if (gained.length) this.#windows.gain(gained);
    this.#windows.soleWriter = this.#ownsAll();
    this.#marks.assign(owned, this.#now());
    this.#assignmentValid = true;
    this.metrics.assignedPartitions.set(owned.size);
    this.log.info("Partitions assigned", { partitions: this.#offsets.assigned, revoked });
    // Another instance may have opened or resolved alerts of the partitions gained: reload before the next batch.
    if (this.#sinks && (revoked.length || gained.length)) this.#alertsStale = true;
    this.#readyResolve();
    return this.#offsets.resumePositions(partitions.filter((p) => !gained.includes(p)));
  }

  /** One fetched batch, under the lock (timed flushes wait): returns the offset to resolve, if handled. */
  #onBatch(batch: Batch, heartbeat: () => Promise<void>): Promise<string | undefined> {
    if (this.#stopping) return Promise.resolve(undefined);
    return this.#lock.run(async () => {
      if (this.#stopping && this.#abandoned) return undefined;
      try {
        if (this.#alertsStale) {
          await this.#flush(heartbeat);
          await this.#reloadAlerts(heartbeat);
          this.#alertsStale = false;
        }
        const started = performance.now();
        if (!await this.#processBatch(batch, heartbeat)) return undefined;
        this.metrics.batchSeconds.observe((performance.now() - started) / 1000);
        await this.#flushDue(heartbeat);
        return batch.lastOffset();
      } catch (e) {
        if (await this.#rewindAfter(e)) return undefined;
        throw e;
      }
    });
  }

  /** Decode → background writes → window load and fold → track; returns false when abandoned (stop). */
  async #processBatch(batch: Batch, heartbeat: () => Promise<void>): Promise<boolean> {
    const partition = batch.partition;
    const now = this.#now();
    const tDecode = performance.now();
    const folded = this.#offsets.foldedUpTo(partition);
    const d = decodeBatch({
      topic: batch.topic,
      partition,
      records: batch.messages,
      marks: this.#marks,
      foldedUpTo: folded,
      contract: { ...this.config.contract, now: this.#now },
    });
    this.#countDecoded(batch, d.rejected, d.invalid, d.late);
    this.#countSeq(this.#sequence.observe(partition, d.valid));
    this.#stages.add("decode", tDecode);
    if (d.valid.length) this.#e2e.add(now - d.valid[d.valid.length - 1].eventTime);
    const next = Number(batch.lastOffset()) + 1;

    const sinks = this.#sinks;
    if (!sinks) {
      this.#count("consume_only", batch.messages.length);
      this.#offsets.complete(partition, next);
      return true;
    }

    // Raw and dead-letter writes run in the background while the next batch is fetched; the
    // batch's offsets count as processed (committable) only once they and the detectors are done.
    const at = new Date(now);
    const writes = Promise.all([
      this.#stages.time("raw_write", () => this.#writeRaw(sinks, d.valid, at, heartbeat)),
      this.#stages.time("dead_letters", () => this.#writeDeadLetters(sinks, d.rejected, at, heartbeat)),
    ]);
    // Every record of the batch ends in one counted outcome once its writes settled.
    writes.then(([raw]) => this.#countOutcomes(d, raw), () => this.#count("abandoned", batch.messages.length));
    await this.#stages.time("window_load", () => this.#loadWindows(sinks, partition, d.valid, heartbeat));
    if (this.#abandoned) return false;

    const tFold = performance.now();
    this.#windows.fold(partition, d.valid);
    this.#stages.add("window_fold", tFold);
    if (Number.isFinite(d.maxEvent)) this.#marks.observe(partition, d.maxEvent, now);
    this.#offsets.folded(partition, Number(batch.lastOffset()));
    this.metrics.openWindows.set(this.#windows.size);
    this.#offsets.track(partition, next, writes, ([raw]) => this.#detect(partition, d.valid, raw.stored))
      .catch(() => {}); // a failed batch surfaces at the next flush
    // Back-pressure: at most a few batches in flight.
    await this.#offsets.waitBelow(MAX_INFLIGHT_BATCHES, () => this.#abandoned);
    if (this.#abandoned) return false;
    await heartbeat().catch(() => {});
    return true;
  }

  #countDecoded(batch: Batch, rejected: { reason: string }[], invalid: number, late: number): void {
    for (const r of rejected) if (r.reason !== "late") this.metrics.invalid.inc(1, { reason: r.reason });
    this.#totals.invalid += invalid;
    this.metrics.late.inc(late);
    this.#totals.late += late;
    const n = batch.messages.length;
    this.metrics.consumed.inc(n);
    this.#totals.consumed += n;
  }

  #count(outcome: string, n: number, reason?: string): void {
    if (n === 0) return;
    this.metrics.records.inc(n, reason ? { outcome, reason } : { outcome });
    this.#outcomes[outcome] = (this.#outcomes[outcome] ?? 0) + n;
    if (reason) this.#deadByReason[reason] = (this.#deadByReason[reason] ?? 0) + n;
  }

  #countSeq(c: SeqCounts): void {
    for (const kind of SEQ_EVENT_KINDS) if (c[kind]) this.metrics.seqEvents.inc(c[kind], { kind });
    if (c.missing) this.metrics.seqMissing.inc(c.missing);
  }

  #countOutcomes(d: ReturnType<typeof decodeBatch>, raw: RawWriteResult): void {
    const byReason = new Map<string, number>();
    for (const r of d.rejected) if (r.reason !== "late") byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
    for (const [reason, n] of byReason) this.#count("dead_lettered", n, reason);
    let stored = 0, replay = 0, duplicate = 0;
    d.valid.forEach((v, i) => {
      if (v.late) return;
      if (raw.stored[i]) stored++;
      else if (v.replay) replay++;
      else duplicate++;
    });
    this.#count("late", d.late);
    this.#count("stored", stored);
    this.#count("replay", replay);
    this.#count("duplicate", duplicate);
  }

  async #writeRaw(sinks: Sinks, valid: Valid[], at: Date, heartbeat: () => Promise<void>): Promise<RawWriteResult> {
    const raw = await sinks.raw.write(valid, at, heartbeat);
    this.metrics.written.inc(raw.inserted.size, { collection: COLLECTIONS.readings });
    this.#totals.stored += raw.inserted.size;
    return raw;
  }

  async #writeDeadLetters(
    sinks: Sinks,
    rejected: Parameters<DeadLetterSink["write"]>[0],
    at: Date,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    if (rejected.length === 0) return;
    const r = await sinks.deadLetters.write(rejected, at, heartbeat);
    this.metrics.dlq.inc(rejected.length);
    this.metrics.dlqTruncated.inc(r.truncated);
    this.metrics.dlqMongoOnly.inc(r.mongoOnly);
    this.#totals.dead_letters += rejected.length;
  }

  /** Makes sure every window the batch touches is in memory with this partition's stored part. */
  async #loadWindows(sinks: Sinks, partition: number, valid: Valid[], heartbeat: () => Promise<void>): Promise<void> {
    const ids = this.#windows.need(partition, valid);
    if (ids.length === 0) return;
    const epoch = this.#windows.epoch;
    await this.#windowLock.run(async () => {
      const docs = await sinks.windows.load(ids, heartbeat);
      this.#windows.applyLoaded(partition, ids, docs, { owned: (p) => this.#offsets.owns(p), epoch });
    });
  }

  /** Runs the detectors on a batch's readings once its raw writes are acknowledged. */
  #detect(partition: number, valid: Valid[], stored: boolean[]): void {
    const t = performance.now();
    const checked = this.#detection.detect(partition, valid, stored, this.#now());
    this.metrics.checked.inc(checked);
    this.#totals.checked += checked;
    this.#stages.add("detect", t);
  }

  /**
   * Writes windows and alerts, publishes alert events, then commits processed offsets: offered to the
   * background committer (`source/committer.ts`), or, with `joinWaitMs` (the stop), committed before
   * returning, waiting up to `joinWaitMs` for the group to be joined.
   */
  async #flush(heartbeat?: () => Promise<void>, joinWaitMs = 0): Promise<void> {
    const started = performance.now();
    this.#cadence.started("full");
    await this.#stages.time("write_wait", () => this.#offsets.drain());
    const toCommit = this.#offsets.committable();
    const generation = this.#source?.generation ?? 0;
    const sinks = this.#sinks;
    if (sinks) {
      await this.#stages.time("window_write", () => this.#flushWindows(sinks.windows, undefined, heartbeat));
      await this.#stages.time("event_write", () => this.#flushEvents(sinks, heartbeat));
      // A publish waiting for a new leader of the alerts topic goes on in the background (batches go on);
      // nothing is committed until it is done. The stop waits for it.
      const alerted = await this.#stages.time(
        "alert_write",
        () => sinks.alerts.sink.flush(heartbeat, joinWaitMs === 0 ? ALERT_FLUSH_WAIT_MS : Infinity),
      );
      this.metrics.openAlerts.set(this.#alerts.openCount);
      if (!alerted) return;
    }
    if (this.#abandoned) return;
    if (toCommit.length && this.#committer) {
      // Only in a joined group, of the generation the offsets were taken in (else the next flush commits).
      // In the background, bounded, so that a lost coordinator holds up no batch; a stop waits for it.
      if (joinWaitMs === 0) this.#committer.offer(toCommit, generation);
      else {
        await this.#committer.commitNow(toCommit, generation, {
          joinWaitMs,
          deadlineMs: 2 * joinWaitMs,
          signal: this.#abandon.signal,
        }).catch((e) => this.log.warn("Offset commit failed", { error: e }));
      }
    }
    this.metrics.flushSeconds.observe((performance.now() - started) / 1000);
  }

  async #flushEvents(sinks: Sinks, heartbeat?: () => Promise<void>): Promise<void> {
    const events = this.#detection.takeEvents();
    if (events.length === 0) return;
    try {
      const n = await sinks.events.write(events, heartbeat);
      this.metrics.written.inc(n, { collection: COLLECTIONS.events });
    } catch (e) {
      this.#detection.restoreEvents(events);
      throw e;
    }
  }

  /**
   * Runs the flush that is due, if any: a full one (commits), or starts a live
   * one in the background (type × location windows only, one attempt, skipped
   * while MongoDB fails or the previous one runs).
   */
  async #flushDue(heartbeat?: () => Promise<void>): Promise<void> {
    const due = this.#cadence.due();
    if (due === "full") return await this.#flush(heartbeat);
    if (due !== "live") return;
    this.#cadence.started("live");
    const sinks = this.#sinks;
    if (!sinks || this.#liveWrite || !this.#mongoHealthy || this.#stopping) return;
    this.#liveWrite = this.#stages.time(
      "window_write_live",
      () => this.#flushWindows(sinks.liveWindows, "type_location"),
    )
      .catch((e) => this.log.debug("Live window write failed (the next flush writes them)", { error: e }))
      .finally(() => (this.#liveWrite = undefined));
  }

  /** Writes the dirty windows (only those of kind `only`, when given), after any write or load in progress. */
  #flushWindows(sink: WindowSink, only?: WindowKind, heartbeat?: () => Promise<void>): Promise<void> {
    return this.#windowLock.run(() => this.#writeWindows(sink, only, heartbeat));
  }

  async #writeWindows(sink: WindowSink, only?: WindowKind, heartbeat?: () => Promise<void>): Promise<void> {
    const now = this.#now();
    const flush = this.#windows.collect(this.#marks.global(now), only);
    const stored = await sink.write(flush.dirty, new Date(now), heartbeat);
    this.#windows.written(flush, stored);
    if (flush.dirty.length) {
      this.metrics.written.inc(flush.dirty.length, { collection: COLLECTIONS.windows });
      this.#totals.windows_written += flush.dirty.length;
    }
    this.metrics.openWindows.set(this.#windows.size);
  }

  async #flushDueOrRewind(): Promise<void> {
    try {
      await this.#flushDue();
    } catch (e) {
      if (!await this.#rewindAfter(e)) throw e;
    }
  }

  /**
   * After a write that gave up (its retries ran past their deadline): drops
   * everything not committed and fetches again from the committed offsets, as
   * a restart would. Returns false for errors it does not handle (a stop).
   */
  async #rewindAfter(e: unknown): Promise<boolean> {
    if (this.#stopping || e instanceof AbandonedError || !this.#source || !this.#admin) return false;
    const partitions = this.#offsets.assigned;
    this.log.error("A write gave up: re-reading every partition from its committed offset", {
      error: e,
      partitions,
    });
    this.#offsets.rewind();
    this.#windows.revoke(partitions);
    this.#detection.retain(new Set());
    this.#sequence.retain(new Set());
    this.#marks.assign([], this.#now());
    this.#marks.assign(partitions, this.#now());
    this.#alertsStale = !!this.#sinks;
    try {
      const topic = this.config.topics.readings;
      const [committed, ends] = await Promise.all([
        this.#admin.fetchOffsets({ groupId: this.config.groupId, topics: [topic] }),
        this.#admin.fetchTopicOffsets(topic),
      ]);
      const at = new Map<number, number>();
      for (const p of committed[0]?.partitions ?? []) at.set(p.partition, Number(p.offset));
      this.#offsets.knownCommitted(
        [...at].filter(([, o]) => o >= 0).map(([partition, offset]) => ({ partition, offset })),
      );
      for (const p of ends) if ((at.get(p.partition) ?? -1) < 0) at.set(p.partition, Number(p.low));
      for (const p of partitions) this.#source.seek(p, at.get(p) ?? 0);
    } catch (err) {
      this.log.error("Rewind failed: the consumer restarts from its committed offsets", { error: err });
      throw err;
    }
    return true;
  }

  async #retention(): Promise<void> {
    if (!this.#sinks) return;
    const o = { days: this.config.rawRetentionDays, now: this.#now(), log: this.log };
    await deleteExpired(this.#sinks.rawCol, o);
    await deleteExpired(this.#sinks.eventCol, o);
  }

  /** Whether this instance owns every partition of the readings topic (then it alone writes shared windows). */
  #ownsAll(): boolean {
    const owned = this.#offsets.assigned;
    return this.#topicPartitions > 0 && owned.length === this.#topicPartitions &&
      owned.every((p) => p < this.#topicPartitions);
  }

  async #updateLag(): Promise<void> {
    const offsets = await this.#admin!.fetchTopicOffsets(this.config.topics.readings);
    if (offsets.length !== this.#topicPartitions) {
      this.#topicPartitions = offsets.length;
      this.#windows.soleWriter = this.#ownsAll();
    }
    for (const o of offsets) {
      if (!this.#offsets.owns(o.partition)) continue;
      const committed = this.#offsets.committedOffset(o.partition) ?? 0;
      const lag = Math.max(0, Number(o.high) - committed);
      this.#lag[String(o.partition)] = lag;
      this.metrics.lag.set(lag, { partition: o.partition });
    }
  }

  async #heartbeat(): Promise<void> {
    const now = this.#now();
    this.metrics.e2eLagMs.set(this.#e2e.take());
    const rate = this.#rate.sample(now, this.#totals.consumed);
    await this.#updateLag().catch(() => {});
    if (!this.#sinks) return;
    const doc = processorStatsDoc({
      instance: this.config.instance,
      now,
      startedAt: this.#startedAt,
      rate,
      totals: {
        ...this.#totals,
        open_windows: this.#windows.size,
        open_alerts: this.#alerts.openCount,
        ...Object.fromEntries(Object.entries(this.#outcomes).map(([k, v]) => [`outcome_${k}`, v])),
        ...Object.fromEntries(Object.entries(this.#deadByReason).map(([k, v]) => [`dead_lettered_${k}`, v])),
        ...Object.fromEntries(Object.entries(this.#sequence.totals()).map(([k, v]) => [`seq_${k}`, v])),
      },
      lag: { ...this.#lag },
      e2eLagMs: this.#e2e.value,
    });
    try {
      await this.#sinks.stats.updateOne({ _id: `processor:${this.config.instance}` }, { $set: doc }, { upsert: true });
      this.#mongoHealthy = true;
    } catch (e) {
      this.#mongoHealthy = false;
      throw e;
    }
  }

  /** The port /metrics is served on, if any. */
  get metricsPort(): number | undefined {
    const addr = this.#server?.addr as Deno.NetAddr | undefined;
    return addr?.port;
  }

  /** Current counters. */
  stats(): ProcessorStats {
    return {
      instance: this.config.instance,
      consumed: this.#totals.consumed,
      stored: this.#totals.stored,
      invalid: this.#totals.invalid,
      late: this.#totals.late,
      checked: this.#totals.checked,
      deadLetters: this.#totals.dead_letters,
      windowsWritten: this.#totals.windows_written,
      alertsNew: this.#totals.alerts_new,
      alertsResolved: this.#totals.alerts_resolved,
      mongoRetries: this.#totals.mongo_retries,
      assigned: this.#offsets.assigned,
      committed: this.#offsets.committedAll(),
      lag: { ...this.#lag },
      e2eLagMs: this.#e2e.value,
      openWindows: this.#windows.size,
      openAlerts: this.#alerts.openCount,
      stageSeconds: this.#stages.totals(),
      outcomes: { ...this.#outcomes },
      deadLetteredByReason: { ...this.#deadByReason },
      seq: this.#sequence.totals(),
    };
  }

  /**
   * Graceful stop (idempotent), bounded by `graceMs`: once it passes, every
   * retry and wait is abandoned and the remaining closes get a short bound each.
   */
  stop(graceMs = this.config.stopTimeoutMs): Promise<StopReport> {
    this.#stopPromise ??= this.#stop(graceMs);
    return this.#stopPromise;
  }

  async #stop(graceMs: number): Promise<StopReport> {
    this.log.info("Stopping: finishing the batch, flushing, committing", { deadline_ms: graceMs });
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
    this.#source?.pause();
    const abandoned = new Promise<void>((resolve) => {
      if (this.#abandoned) resolve();
      else this.#abandon.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    // The flush gets most of the deadline; the heartbeat and the closes after it get a short bound each.
    const closeMs = Math.min(2000, Math.floor(graceMs / 10));
    const abort = setTimeout(() => {
      this.#abandon.abort();
      this.log.error("Stop deadline passed: giving up unwritten data (it will be re-read)");
    }, Math.max(0, graceMs - 3 * closeMs));
    let flushed = false;
    try {
      await Promise.race([
        this.#lock.run(() => this.#flush(undefined, STOP_JOIN_WAIT_MS)).then(() => (flushed = !this.#abandoned)),
        abandoned,
      ]).catch((e) => this.log.warn("Final flush failed", { error: e }));
      if (!this.#abandoned) await within(this.#heartbeat(), closeMs).catch(() => {});
    } finally {
      clearTimeout(abort);
    }
    const report: StopReport = { abandoned: !flushed, uncommitted: {} };
    if (!flushed) this.#abandon.abort();
    for (const p of this.#offsets.assigned) {
      const committed = this.#offsets.committedOffset(p) ?? null;
      const fetchedUpTo = this.#offsets.foldedUpTo(p) + 1;
      if (fetchedUpTo > 0 && fetchedUpTo !== committed) report.uncommitted[String(p)] = { committed, fetchedUpTo };
    }
    await within(this.#source?.disconnect(), closeMs).catch((e) =>
      this.log.warn("Consumer disconnect failed", { error: e })
    );
    await this.#sinks?.alerts.stop(closeMs).catch(() => {});
    await Promise.allSettled([
      Promise.resolve(this.#sinks?.publisher.close()),
      within(this.#admin?.disconnect(), closeMs),
      within(this.#sinks?.client.close(true), closeMs),
      within(this.#server?.shutdown(), closeMs),
    ]);
    if (report.abandoned) {
      this.log.error("Processor stopped with work abandoned: these records are read again at the next start", {
        uncommitted: report.uncommitted,
        in_flight_batches: this.#offsets.inflight,
      });
    }
    this.log.info("Processor stopped", { ...this.#totals, abandoned: report.abandoned ? 1 : 0 });
    return report;
  }
}
