/**
 * The processor's website handler: a consumer of `website-checks` in its own
 * group (so the sensor path's offsets and exactness are untouched). Per batch
 * it updates per-url rolling and window statistics and alerts, writes them to
 * MongoDB (idempotent upserts), publishes alert events and statistics (the
 * native client, `sinks/publisher.ts`), and only then lets kafkajs commit. A replayed check (event time not after the url's
 * last counted check) is skipped, so a restart never counts a check twice.
 */
import type { AnyBulkWriteOperation, Collection, Db, MongoClient } from "mongodb";
import type { Consumer, Kafka } from "kafkajs";
import {
  COLLECTIONS,
  createKafka,
  createMongoClient,
  decodeCheck,
  ensureTopics,
  indexSpecs,
  type KafkaConfig,
  type Logger,
  type MongoConfig,
  TOPICS,
  WEBSITE_PROCESSOR_GROUP,
  type WebsiteCheck,
  type WebsiteMetricsDoc,
} from "@iot/shared";
import { type Clock, systemClock } from "../clock.ts";
import { createWebsiteHandlerMetrics, type WebsiteHandlerMetrics } from "../metrics.ts";
import { adaptToStandIn } from "../ops/stand_in.ts";
import { type Alerting, startAlerting } from "../alerting.ts";
import type { RulePolicy } from "../stages/alert_lifecycle.ts";
import { isRetriable } from "../sinks/errors.ts";
import { type OwnedPublisher, type RecordPublisher, usePublisher } from "../sinks/publisher.ts";
import { createRetrier } from "../sinks/retrying.ts";
import { DEFAULT_WEBSITE_POLICY, WebsiteAlertManager, type WebsiteAlertWrite, type WebsiteSubject } from "./alerts.ts";
import { rollingDoc, rollingId, type UrlState, windowDoc, windowId } from "./docs.ts";
import { foldCheck, noChanges } from "./fold.ts";
import { DEFAULT_WEBSITE_RULES, type WebsiteRuleConfig } from "./rules.ts";
import { windowStart } from "./stats.ts";

/** Options of `startWebsiteProcessor`. */
export interface WebsiteProcessorOptions {
  kafka: KafkaConfig;
  mongo: MongoConfig;
  logger: Logger;
  /** Consumer group (default `iot-processor-websites`). */
  groupId?: string;
  topics?: Partial<{ checks: string; alerts: string; statistics: string }>;
  /** Partitions if the checks topic is created (default 3). */
  partitions?: number;
  /** Tumbling window sizes in seconds (default 60 and 300). */
  windowsS?: number[];
  rules?: Partial<WebsiteRuleConfig>;
  /** When each rule opens and clears an incident (default `DEFAULT_WEBSITE_POLICY`). */
  incidentRules?: RulePolicy;
  /** `ALERT_WEBHOOK_URL`: incident announcements are also POSTed there. */
  webhookUrl?: string;
  /** How often silences are read (default 5 s). */
  silencePollMs?: number;
  /** Wall clock of `updated_at` (default the system clock). */
  now?: Clock;
  /** Where checks, windows and alerts are counted (the processor's registry; default: a registry of their own). */
  metrics?: WebsiteHandlerMetrics;
  /** Publishes alert events and statistics; shared with the sensor path by `main.ts` (default: its own). */
  publisher?: RecordPublisher;
}

/** Counters of a website handler. */
export interface WebsiteProcessorStats {
  checks: number;
  skipped: number;
  invalid: number;
  alertsNew: number;
  alertsResolved: number;
}

/** A running website handler. */
export interface WebsiteProcessorHandle {
  /** Resolves once the consumer joined its group. */
  ready: Promise<void>;
  stats(): WebsiteProcessorStats;
  /** Stops consuming, finishes the current batch, commits and closes. */
  stop(): Promise<void>;
}

/** A website write retried this long gives up (the batch fails and is fetched again). */
const RETRY_DEADLINE_MS = 30_000;

/** Starts the website handler: topics, schema, consumer. */
export async function startWebsiteProcessor(options: WebsiteProcessorOptions): Promise<WebsiteProcessorHandle> {
  const h = new WebsiteHandler(options);
  try {
    await h.start();
  } catch (e) {
    await h.stop().catch(() => {});
    throw e;
  }
  return { ready: h.ready, stats: () => ({ ...h.counters }), stop: () => h.stop() };
}

class WebsiteHandler {
  readonly counters: WebsiteProcessorStats = { checks: 0, skipped: 0, invalid: 0, alertsNew: 0, alertsResolved: 0 };
  readonly ready: Promise<void>;
  #markReady!: () => void;
  #log: Logger;
  #rules: WebsiteRuleConfig;
  #windows: number[];
  #topics: { checks: string; alerts: string; statistics: string };
  #kafka?: Kafka;
  #consumer?: Consumer;
  #publisher?: OwnedPublisher;
  #client?: MongoClient;
  #metrics?: Collection<WebsiteMetricsDoc>;
  #alerting?: Alerting<WebsiteSubject, WebsiteAlertWrite>;
  #urls = new Map<string, UrlState>();
  #alerts: WebsiteAlertManager;
  #abandon = new AbortController();
  #now: Clock;
  #stopped = false;
  readonly metrics: WebsiteHandlerMetrics;

  constructor(readonly options: WebsiteProcessorOptions) {
    this.#log = options.logger.child("websites");
    this.#rules = { ...DEFAULT_WEBSITE_RULES, ...options.rules };
    this.#windows = [...new Set(options.windowsS ?? [60, 300])].sort((a, b) => a - b);
    this.#topics = {
      checks: options.topics?.checks ?? TOPICS.websiteChecks,
      alerts: options.topics?.alerts ?? TOPICS.websiteAlerts,
      statistics: options.topics?.statistics ?? TOPICS.websiteStatistics,
    };
    this.#now = options.now ?? systemClock;
    this.metrics = options.metrics ?? createWebsiteHandlerMetrics();
    this.#alerts = new WebsiteAlertManager(options.incidentRules ?? DEFAULT_WEBSITE_POLICY, this.#now);
    this.ready = new Promise((resolve) => this.#markReady = resolve);
  }

  async start(): Promise<void> {
    this.#kafka = await createKafka(this.options.kafka, { role: "processor-websites", logger: this.#log });
    const admin = this.#kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [
        { topic: this.#topics.checks, numPartitions: this.options.partitions ?? 3 },
        { topic: this.#topics.alerts, numPartitions: 1 },
        { topic: this.#topics.statistics, numPartitions: 1 },
      ]);
    } finally {
      await admin.disconnect();
    }
    this.#client = createMongoClient(this.options.mongo, { appName: "iot-processor-websites" });
    await this.#client.connect();
    const db: Db = this.#client.db(this.options.mongo.db);
    await this.#ensureSchema(db);
    await adaptToStandIn(db, [COLLECTIONS.websiteAlerts], this.#log);
    this.#metrics = db.collection<WebsiteMetricsDoc>(COLLECTIONS.websiteMetrics);
    this.#publisher = usePublisher(this.options.publisher, {
      kafka: this.options.kafka,
      logger: this.#log,
      role: "processor-websites",
    });
    this.#alerting = startAlerting({
      db,
      collection: COLLECTIONS.websiteAlerts,
      subjectField: "url",
      source: "websites",
      lifecycle: this.#alerts,
      log: this.#log,
      now: this.#now,
      webhookUrl: this.options.webhookUrl,
      silencePollMs: this.options.silencePollMs,
      publisher: this.#publisher.publisher,
      topic: this.#topics.alerts,
      retry: createRetrier({
        log: this.#log,
        deadlineMs: RETRY_DEADLINE_MS,
        signal: this.#abandon.signal,
        isRetriable,
        now: this.#now,
      }),
      onEvent: (e) => {
        if (e.event === "opened") this.counters.alertsNew++;
        else if (e.event === "resolved") this.counters.alertsResolved++;
        this.#log.info(`Website incident ${e.event}`, { url: e.alert.url, rules: Object.keys(e.alert.rules ?? {}) });
        for (const rule of Object.keys(e.alert.rules ?? {})) this.metrics.alerts.inc(1, { rule, event: e.event });
      },
    });
    await this.#alerting.refreshSilences().catch((e) => this.#log.warn("Silences not read", { error: e }));
    this.#consumer = this.#kafka.consumer({
      groupId: this.options.groupId ?? WEBSITE_PROCESSOR_GROUP,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      maxWaitTimeInMs: 200,
    });
    const ev = this.#consumer.events;
    this.#consumer.on(ev.GROUP_JOIN, () => {
      // Partitions may have moved: the database is the truth, state reloads per url on its next check.
      this.#urls.clear();
      this.#alerts.clear();
      this.#markReady();
    });
    this.#consumer.on(ev.CRASH, (e) => {
      const fields = { error: e.payload.error, restart: e.payload.restart };
      if (e.payload.restart) this.#log.debug("Website consumer restarting after an error", fields);
      else this.#log.error("Website consumer crashed", fields);
    });
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topic: this.#topics.checks, fromBeginning: true });
    await this.#consumer.run({
      autoCommit: true,
      eachBatch: async ({ batch, heartbeat }) => {
        const started = performance.now();
        try {
          await this.#processBatch(batch.messages.map((m) => m.value), heartbeat);
          this.metrics.batchSeconds.observe((performance.now() - started) / 1000);
        } catch (e) {
          // Memory may be ahead of the database now: reload from it when the batch is retried.
          this.#urls.clear();
          this.#alerts.drain();
          this.#alerts.clear();
          this.#log.warn("Website batch failed; it will be retried", { error: e });
          throw e;
        }
      },
    });
    this.#log.info("Consuming website checks", { topic: this.#topics.checks, rules: this.#rules });
  }

  /** Creates the website collections and their indexes (only those: the sensor schema is the processor's). */
  async #ensureSchema(db: Db): Promise<void> {
    const specs = indexSpecs();
    for (const name of [COLLECTIONS.websiteMetrics, COLLECTIONS.websiteAlerts]) {
      try {
        await db.createCollection(name);
      } catch (e) {
        if (!/already exists/i.test((e as Error).message)) throw e;
      }
      for (const spec of specs[name]) {
        try {
          await db.collection(name).createIndexes([spec]);
        } catch (e) {
          this.#log.warn(`Index ${name}.${spec.name} not created`, { error: (e as Error).message });
        }
      }
    }
  }

  async #state(check: WebsiteCheck): Promise<UrlState> {
    const known = this.#urls.get(check.url);
    if (known) return known;
    const st: UrlState = {
      url: check.url,
      name: check.name,
      category: check.category,
      recent: [],
      lastT: -1,
      windows: new Map(),
    };
    const rolling = await this.#metrics!.findOne({ _id: rollingId(check.url) });
    if (rolling) {
      st.recent = rolling.recent ?? [];
      st.lastT = rolling.last_check.getTime();
    }
    if (st.lastT >= 0) {
      const since = new Date(windowStart(st.lastT, this.#windows[this.#windows.length - 1]));
      const docs = await this.#metrics!.find({ kind: "window", url: check.url, window_start: { $gte: since } })
        .toArray();
      for (const d of docs) {
        const start = d.window_start!.getTime();
        st.windows.set(windowId(d.url, start, d.size_s), {
          sizeS: d.size_s,
          start,
          checks: d.checks,
          up: d.up,
          samples: d.samples ?? [],
        });
      }
    }
    const open = await this.#alerting!.sink.firing(check.url);
    this.#alerts.forget(check.url);
    this.#alerts.load(open);
    this.#urls.set(check.url, st);
    return st;
  }

  async #processBatch(values: (Buffer | null)[], heartbeat: () => Promise<void>): Promise<void> {
    const changes = noChanges();
    const fold = { windowsS: this.#windows, rules: this.#rules, alerts: this.#alerts, changes };
    for (const value of values) {
      const decoded = decodeCheck(value);
      if (!decoded.ok) {
        this.counters.invalid++;
        this.metrics.checks.inc(1, { outcome: "invalid" });
        this.#log.warn("Invalid website check skipped", { detail: decoded.detail });
        continue;
      }
      const st = await this.#state(decoded.check);
      const counted = foldCheck(st, decoded.check, decoded.eventTime, fold);
      if (counted) this.counters.checks++;
      else this.counters.skipped++;
      this.metrics.checks.inc(1, { outcome: counted ? "counted" : "skipped" });
    }
    if (changes.urls.size === 0) return;
    await heartbeat();
    const now = new Date(this.#now());
    const rollingDocs = [...changes.urls].map((st) => rollingDoc(st, now));
    const windowDocs = [...changes.windows.values()].map(({ st, w }) => windowDoc(st, w, now));
    const ops: AnyBulkWriteOperation<WebsiteMetricsDoc>[] = [...rollingDocs, ...windowDocs].map((d) => ({
      replaceOne: { filter: { _id: d._id }, replacement: d, upsert: true },
    }));
    await this.#metrics!.bulkWrite(ops, { ordered: false });
    this.metrics.windowsWritten.inc(windowDocs.length);
    await this.#alerting!.sink.flush(heartbeat);
    await heartbeat();
    await this.#publisher!.publisher.send(
      this.#topics.statistics,
      rollingDocs.map((d) => {
        const { recent: _r, ...stats } = d;
        return { key: d.url, value: JSON.stringify(stats) };
      }),
    );
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const abandon = setTimeout(() => this.#abandon.abort(), 10_000);
    await this.#consumer?.disconnect().catch((e) => this.#log.warn("Consumer disconnect failed", { error: e }));
    await this.#alerting?.stop(2000);
    this.#publisher?.close();
    clearTimeout(abandon);
    await this.#client?.close().catch((e) => this.#log.warn("MongoDB close failed", { error: e }));
    this.#markReady();
  }
}
