/**
 * The stream processor's wiring: source → stages → sinks → flush → commit.
 *
 * 1. The source (`source/consumer.ts`) fetches a batch of one partition.
 * 2. Decode (`stages/decode.ts`): valid readings, judged late or replayed; rejected records.
 * 3. Raw readings and dead letters are written in the background (`sinks/raw.ts`, `sinks/dead_letters.ts`).
 *    Where readings carry `seq`, the sequence stage (`stages/sequence.ts`) counts gaps, reorders and
 *    restarts per sensor; it never gates storage.
 * 4. Windows (`stages/window_state.ts`): this partition's stored parts are loaded once, readings folded
 *    (`window_io.ts`).
 * 5. The batch is tracked (`source/offsets.ts`): once its writes are acknowledged, detection runs
 *    (`stages/detect.ts`) and its offset becomes committable; its records are counted (`counters.ts`).
 * 6. About once a second and at stop, the flush waits for the writes, writes windows, anomaly events and
 *    incidents (`sinks/windows.ts`, `sinks/events.ts`, `alerting.ts`), publishes incident announcements
 *    (and hands them to the webhook), and then commits. In between, every `liveFlushIntervalMs`, the
 *    type × location windows alone are written, committing nothing, while this instance is their sole
 *    writer (`flush_cadence.ts`, `window_io.ts`).
 * 7. A write that gave up rewinds to the committed offsets (`rewind.ts`); the stop drains within its
 *    deadline (`stop.ts`).
 *
 * The operations side (`ops/`): /metrics and /healthz, the `pipeline_stats` heartbeat, retention,
 * stand-in differences. Opening the sinks: `sinks/open.ts`.
 */
import type { Admin, Batch, Kafka } from "kafkajs";
import { COLLECTIONS, createKafka, createLogger, ensureTopics, type Logger } from "@iot/shared";
import { type Clock, systemClock } from "./clock.ts";
import { SerialLock } from "./concurrency.ts";
import type { ProcessorConfig } from "./config.ts";
import { Counters } from "./counters.ts";
import { FlushCadence, flushTickMs } from "./flush_cadence.ts";
import type { ProcessorStats, StopReport } from "./handle.ts";
import { createProcessorMetrics, type ProcessorMetrics } from "./metrics.ts";
import { serveOps } from "./ops/http.ts";
import { Reporter } from "./ops/reporter.ts";
import { deleteExpired } from "./ops/retention.ts";
import { readResumePositions, rewinds } from "./rewind.ts";
import { openSinks, type Sinks } from "./sinks/open.ts";
import type { RecordPublisher } from "./sinks/publisher.ts";
import type { RawWriteResult } from "./sinks/raw.ts";
import type { DeadLetterSink } from "./sinks/dead_letters.ts";
import { Committer } from "./source/committer.ts";
import { OffsetTracker, type PartitionOffset } from "./source/offsets.ts";
import { ownsAll, partitionCount } from "./source/partitions.ts";
import { type Source, startSource } from "./source/consumer.ts";
import { AlertManager } from "./stages/alerts.ts";
import { decodeBatch, type Valid } from "./stages/decode.ts";
import { Detection } from "./stages/detect.ts";
import { SequenceStage } from "./stages/sequence.ts";
import { Watermarks } from "./stages/watermark.ts";
import { WindowState } from "./stages/window_state.ts";
import { StageTimer } from "./stage_timer.ts";
import { closeWithin, drainWithin, logStopped, STOP_JOIN_WAIT_MS, uncommittedOffsets } from "./stop.ts";
import { WindowIo } from "./window_io.ts";

export type { ProcessorHandle, ProcessorStats, StopReport } from "./handle.ts";

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
  readonly #windowIo: WindowIo;
  readonly #alerts: AlertManager;
  readonly #detection: Detection;
  readonly #sequence: SequenceStage;
  readonly #stages: StageTimer;
  readonly #counters: Counters;
  /** Batches and full flushes, one at a time. */
  readonly #lock = new SerialLock();
  /** Aborted when the stop deadline passes: every retry and wait gives up, unwritten data is re-read later. */
  readonly #abandon = new AbortController();
  readonly #reporter: Reporter;
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
    this.#counters = new Counters(this.metrics);
    this.#now = clock;
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
    this.#windowIo = new WindowIo({
      state: this.#windows,
      marks: this.#marks,
      now: clock,
      owns: (p) => this.#offsets.owns(p),
      stages: this.#stages,
      log: this.log,
      onWritten: (n) => {
        this.metrics.written.inc(n, { collection: COLLECTIONS.windows });
        this.#counters.totals.windows_written += n;
      },
      onSize: (n) => this.metrics.openWindows.set(n),
    });
    this.#reporter = new Reporter({
      instance: config.instance,
      now: clock,
      metrics: this.metrics,
      topicOffsets: () => this.#admin!.fetchTopicOffsets(config.topics.readings),
      owns: (p) => this.#offsets.owns(p),
      committedOffset: (p) => this.#offsets.committedOffset(p),
      onPartitionCount: (n) => {
        if (n === this.#topicPartitions) return;
        this.#topicPartitions = n;
        this.#windows.soleWriter = ownsAll(this.#offsets.assigned, n);
      },
      consumed: () => this.#counters.totals.consumed,
      totals: () =>
        this.#counters.heartbeatTotals(
          { open_windows: this.#windows.size, open_alerts: this.#alerts.openCount },
          this.#sequence.totals(),
        ),
      write: (doc) =>
        this.#sinks?.stats.updateOne({ _id: `processor:${config.instance}` }, { $set: doc }, { upsert: true }),
      onHealth: (ok) => (this.#mongoHealthy = ok),
    });
    this.ready = new Promise((r) => (this.#readyResolve = r));
  }

  get #abandoned(): boolean {
    return this.#abandon.signal.aborted;
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
    this.#topicPartitions = await partitionCount(this.#admin, cfg.topics.readings);
    if (!cfg.consumeOnly) await this.#openSinks();
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
      fetchWaitMs: cfg.fetchWaitMs,
      log: this.log,
      handlers: {
        onRebalancing: () => (this.#assignmentValid = false),
        onAssigned: (partitions) => this.#onAssigned(partitions),
        onCommitted: (offsets) => this.#offsets.knownCommitted(offsets),
        onFatal: () => (this.#assignmentValid = false),
        onBatch: (batch, heartbeat, isStale) => this.#onBatch(batch, heartbeat, isStale),
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

  /** Opens the sinks (`sinks/open.ts`), then reads the open incidents and the silences. */
  async #openSinks(): Promise<void> {
    const { sinks, concurrency } = await openSinks({
      config: this.config,
      admin: this.#admin!,
      log: this.log,
      now: this.#now,
      publisher: this.#publisher,
      lifecycle: this.#alerts,
      metrics: this.metrics,
      counters: this.#counters,
      signal: this.#abandon.signal,
      onHealth: (ok) => (this.#mongoHealthy = ok),
    });
    this.#sinks = sinks;
    this.#concurrency = concurrency;
    try {
      await this.#reloadAlerts();
    } catch (e) {
      await sinks.client.close().catch(() => {});
      throw e;
    }
    await sinks.alerts.refreshSilences().catch((e) => this.log.warn("Silences not read", { error: e }));
  }

  /** The flush timer, the silence check, retention and the heartbeat. */
  #startTimers(): void {
    const cfg = this.config;
    this.#timers.push(setInterval(() => {
      const busy = this.#flushJob !== undefined;
      if (this.#stopping || this.#flushQueued || this.#cadence.untilDue(busy) > 0) return;
      // A live flush starts in the background at once; a full one waits for the batch in progress.
      if (this.#cadence.due(busy) === "live") return void this.#flushDue();
      this.#flushQueued = true;
      this.#lock.run(() => this.#stopping ? Promise.resolve() : this.#flushDueOrRewind())
        .catch((e) => this.log.warn("Timed flush failed", { error: e }))
        .finally(() => (this.#flushQueued = false));
    }, flushTickMs(cfg.flushIntervalMs, cfg.liveFlushIntervalMs)));
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
      this.#reporter.beat().catch((e) => this.log.debug("Heartbeat failed", { error: e }));
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
    this.#reporter.forget(revoked);
    if (revoked.length) {
      this.#windows.revoke(revoked);
      this.#detection.retain(owned);
      this.#sequence.retain(owned);
    }
    if (gained.length) this.#windows.gain(gained);
    this.#windows.soleWriter = ownsAll(this.#offsets.assigned, this.#topicPartitions);
    this.#marks.assign(owned, this.#now());
    this.#assignmentValid = true;
    this.metrics.assignedPartitions.set(owned.size);
    this.log.info("Partitions assigned", { partitions: this.#offsets.assigned, revoked });
    // Another instance may have opened or resolved alerts of the partitions gained: reload before the next batch.
    if (this.#sinks && (revoked.length || gained.length)) this.#alertsStale = true;
    this.#readyResolve();
    return this.#offsets.resumePositions(partitions.filter((p) => !gained.includes(p)));
  }

  /**
   * One fetched batch, under the lock (timed flushes wait): returns the offset to resolve, if handled. A batch
   * fetched before a rewind sought its partition is dropped unread (`isStale`): the rewind forgot what was folded
   * before it, so folding it would count its records on top of parts that miss the ones before it, and mark
   * those, fetched again, as replays.
   */
  #onBatch(batch: Batch, heartbeat: () => Promise<void>, isStale: () => boolean): Promise<string | undefined> {
    if (this.#stopping) return Promise.resolve(undefined);
    return this.#lock.run(async () => {
      if (this.#stopping && this.#abandoned) return undefined;
      if (isStale()) return undefined;
      try {
        if (this.#alertsStale) {
          await this.#flush({ heartbeat, wait: true });
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
    const d = decodeBatch({
      topic: batch.topic,
      partition,
      records: batch.messages,
      marks: this.#marks,
      foldedUpTo: this.#offsets.foldedUpTo(partition),
      contract: { ...this.config.contract, now: this.#now },
    });
    this.#counters.decoded(batch.messages.length, d);
    this.#counters.seq(this.#sequence.observe(partition, d.valid));
    this.#stages.add("decode", tDecode);
    if (d.valid.length) this.#reporter.e2e.add(now - d.valid[d.valid.length - 1].eventTime);
    const next = Number(batch.lastOffset()) + 1;

    const sinks = this.#sinks;
    if (!sinks) {
      this.#counters.count("consume_only", batch.messages.length);
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
    writes.then(
      ([raw]) => this.#counters.settled(d, raw),
      () => this.#counters.count("abandoned", batch.messages.length),
    );
    await this.#stages.time("window_load", () => this.#windowIo.load(sinks.windows, partition, d.valid, heartbeat));
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

  async #writeRaw(sinks: Sinks, valid: Valid[], at: Date, heartbeat: () => Promise<void>): Promise<RawWriteResult> {
    const raw = await sinks.raw.write(valid, at, heartbeat);
    this.#counters.stored(raw.inserted.size);
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
    this.#counters.deadLettered(rejected.length, r.truncated, r.mongoOnly);
  }

  /** Runs the detectors on a batch's readings once its raw writes are acknowledged. */
  #detect(partition: number, valid: Valid[], stored: boolean[]): void {
    const t = performance.now();
    const checked = this.#detection.detect(partition, valid, stored, this.#now());
    this.metrics.checked.inc(checked);
    this.#counters.totals.checked += checked;
    this.#stages.add("detect", t);
  }

  /**
   * The full flush, called under the lock: waits for the batches' writes and takes the offsets they made
   * committable, then writes windows and alerts, publishes alert events and commits those offsets
   * (`#writeAndCommit`). That second part runs in the background, beside the next batches, unless `wait`
   * or `joinWaitMs` is given: a batch waits for no window write, and the windows folded meanwhile are
   * written by the next flush (`WindowState` keeps a window changed during a write dirty). One runs at a
   * time; each first waits for the previous one.
   */
  async #flush(o: { heartbeat?: () => Promise<void>; joinWaitMs?: number; wait?: boolean } = {}): Promise<void> {
    await this.#flushJob?.catch(() => {}); // its failure is handled by its own catch (`#flushInBackground`)
    const started = performance.now();
    this.#cadence.started("full");
    await this.#stages.time("write_wait", () => this.#offsets.drain());
    const toCommit = this.#offsets.committable();
    const generation = this.#source?.generation ?? 0;
    const joinWaitMs = o.joinWaitMs ?? 0;
    if (o.wait || joinWaitMs > 0) return await this.#writeAndCommit(toCommit, generation, started, o);
    this.#flushInBackground(this.#writeAndCommit(toCommit, generation, started, {}));
  }

  /** The full flush writing in the background, if one is. */
  #flushJob?: Promise<void>;

  /** Runs a full flush's writes in the background; one that gave up rewinds, as it would in a batch. */
  #flushInBackground(job: Promise<void>): void {
    this.#flushJob = job;
    job.catch(async (e) => {
      await this.#lock.run(async () => {
        if (!await this.#rewindAfter(e)) this.log.warn("Timed flush failed", { error: e });
      });
    }).finally(() => {
      if (this.#flushJob === job) this.#flushJob = undefined;
    });
  }

  /**
   * Writes windows and alerts, publishes alert events, then commits `toCommit`: offered to the background
   * committer (`source/committer.ts`), or, with `joinWaitMs` (the stop), committed before returning, waiting
   * up to `joinWaitMs` for the group to be joined.
   */
  async #writeAndCommit(
    toCommit: PartitionOffset[],
    generation: number,
    started: number,
    o: { heartbeat?: () => Promise<void>; joinWaitMs?: number },
  ): Promise<void> {
    const { heartbeat } = o;
    const joinWaitMs = o.joinWaitMs ?? 0;
    const sinks = this.#sinks;
    if (sinks) {
      const whole = await this.#stages.time(
        "window_write",
        () => this.#windowIo.write(sinks.windows, undefined, heartbeat),
      );
      await this.#stages.time("event_write", () => this.#flushEvents(sinks, heartbeat));
      // A publish waiting for a new leader of the alerts topic goes on in the background (batches go on);
      // nothing is committed until it is done. The stop waits for it.
      const alerted = await this.#stages.time(
        "alert_write",
        () => sinks.alerts.sink.flush(heartbeat, joinWaitMs === 0 ? ALERT_FLUSH_WAIT_MS : Infinity),
      );
      this.metrics.openAlerts.set(this.#alerts.openCount);
      // An ownership change cut the window write short: the next flush writes the rest, then commits.
      if (!alerted || !whole) return;
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
   * while MongoDB fails or the previous one runs, and while other instances
   * share the topic: a shared window of several writers takes several round
   * trips to settle, and two instances doing that every 100 ms cost more than
   * they give; the full flush still writes them, every `PROCESSOR_FLUSH_MS`).
   */
  async #flushDue(heartbeat?: () => Promise<void>): Promise<void> {
    // A full flush still writing holds the next one back; live ones go on.
    const due = this.#cadence.due(this.#flushJob !== undefined);
    if (due === "full") return await this.#flush({ heartbeat });
    if (due !== "live") return;
    this.#cadence.started("live");
    const sinks = this.#sinks;
    if (!sinks || !this.#mongoHealthy || this.#stopping || !this.#windows.soleWriter) return;
    this.#windowIo.startLive(sinks.liveWindows);
  }

  async #flushDueOrRewind(): Promise<void> {
    try {
      await this.#flushDue();
    } catch (e) {
      if (!await this.#rewindAfter(e)) throw e;
    }
  }

  /**
   * After a write that gave up: drops every stage's uncommitted state and
   * fetches again from the committed offsets (`rewind.ts`). Returns false for
   * errors it does not handle (a stop).
   */
  async #rewindAfter(e: unknown): Promise<boolean> {
    if (!rewinds(e, this.#stopping) || !this.#source || !this.#admin) return false;
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
    const topic = this.config.topics.readings;
    const at = await readResumePositions({ admin: this.#admin, groupId: this.config.groupId, topic, log: this.log });
    this.#offsets.knownCommitted(at.committed);
    for (const p of partitions) this.#source.seek(p, at.seek.get(p) ?? 0);
    return true;
  }

  async #retention(): Promise<void> {
    if (!this.#sinks) return;
    const o = { days: this.config.rawRetentionDays, now: this.#now(), log: this.log };
    await deleteExpired(this.#sinks.rawCol, o);
    await deleteExpired(this.#sinks.eventCol, o);
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
      ...this.#counters.stats(),
      assigned: this.#offsets.assigned,
      committed: this.#offsets.committedAll(),
      lag: this.#reporter.lag,
      e2eLagMs: this.#reporter.e2e.value,
      openWindows: this.#windows.size,
      openAlerts: this.#alerts.openCount,
      stageSeconds: this.#stages.totals(),
      seq: this.#sequence.totals(),
    };
  }

  /**
   * Graceful stop (idempotent), bounded by `graceMs` (`stop.ts`): once it passes, every
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
    const { flushed, closeMs } = await drainWithin({
      graceMs,
      abandon: this.#abandon,
      flush: () => this.#lock.run(() => this.#flush({ joinWaitMs: STOP_JOIN_WAIT_MS })),
      heartbeat: () => this.#reporter.beat(),
      log: this.log,
    });
    const report: StopReport = {
      abandoned: !flushed,
      uncommitted: uncommittedOffsets(
        this.#offsets.assigned,
        (p) => this.#offsets.committedOffset(p),
        (p) => this.#offsets.foldedUpTo(p),
      ),
    };
    await closeWithin(closeMs, this.log, {
      consumer: () => this.#source?.disconnect(),
      alerts: (ms) => this.#sinks?.alerts.stop(ms),
      rest: () => [
        this.#sinks?.publisher.close(),
        this.#admin?.disconnect(),
        this.#sinks?.client.close(true),
        this.#server?.shutdown(),
      ],
    });
    logStopped(this.log, report, this.#offsets.inflight, { ...this.#counters.totals });
    return report;
  }
}
