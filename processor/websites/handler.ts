/**
 * The processor's website handler: a consumer of `website-checks` in its own
 * group (so the sensor path's offsets and exactness are untouched). Per batch
 * it updates per-url rolling and window statistics and alerts, writes them to
 * MongoDB (idempotent upserts), publishes alert events and statistics, and only
 * then lets kafkajs commit. A replayed check (event time not after the url's
 * last counted check) is skipped, so a restart never counts a check twice.
 */
import type { AnyBulkWriteOperation, Collection, Db, MongoClient } from "mongodb";
import type { Consumer, Kafka, Producer } from "kafkajs";
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
  type RecentCheck,
  TOPICS,
  WEBSITE_PROCESSOR_GROUP,
  type WebsiteAlertDoc,
  type WebsiteCheck,
  type WebsiteMetricsDoc,
} from "@iot/shared";
import { pushRecent, ROLLING_SIZE, summarize, windowStart } from "./stats.ts";
import { DEFAULT_WEBSITE_RULES, evaluateRules, WEBSITE_RULES, type WebsiteRuleConfig } from "./rules.ts";
import { websiteAlertFields, WebsiteAlertManager, type WebsiteAlertWrite } from "./alerts.ts";

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

interface WindowState {
  sizeS: number;
  start: number;
  checks: number;
  up: number;
  samples: number[];
}

interface UrlState {
  url: string;
  name: string;
  category: string;
  recent: RecentCheck[];
  /** Event time of the last counted check; -1 before the first. */
  lastT: number;
  last?: WebsiteCheck;
  windows: Map<string, WindowState>;
}

type StoredMetrics = WebsiteMetricsDoc;

function rollingId(url: string): string {
  return `${url}|rolling`;
}

function windowId(url: string, start: number, sizeS: number): string {
  return `${url}|${start}|${sizeS}`;
}

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
  #producer?: Producer;
  #client?: MongoClient;
  #metrics?: Collection<StoredMetrics>;
  #alertsCol?: Collection<WebsiteAlertDoc>;
  #urls = new Map<string, UrlState>();
  #alerts = new WebsiteAlertManager();
  #stopped = false;

  constructor(readonly options: WebsiteProcessorOptions) {
    this.#log = options.logger.child("websites");
    this.#rules = { ...DEFAULT_WEBSITE_RULES, ...options.rules };
    this.#windows = [...new Set(options.windowsS ?? [60, 300])].sort((a, b) => a - b);
    this.#topics = {
      checks: options.topics?.checks ?? TOPICS.websiteChecks,
      alerts: options.topics?.alerts ?? TOPICS.websiteAlerts,
      statistics: options.topics?.statistics ?? TOPICS.websiteStatistics,
    };
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
    this.#metrics = db.collection<StoredMetrics>(COLLECTIONS.websiteMetrics);
    this.#alertsCol = db.collection<WebsiteAlertDoc>(COLLECTIONS.websiteAlerts);
    this.#producer = this.#kafka.producer({ maxInFlightRequests: 1 });
    await this.#producer.connect();
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
        try {
          await this.#processBatch(batch.messages.map((m) => m.value), heartbeat);
        } catch (e) {
          // Memory may be ahead of the database now: reload from it when the batch is retried.
          this.#urls.clear();
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
    const open = await this.#alertsCol!.find({ url: check.url, state: "firing" }).toArray();
    this.#alerts.forget(check.url);
    this.#alerts.load(open);
    this.#urls.set(check.url, st);
    return st;
  }

  async #processBatch(values: (Buffer | null)[], heartbeat: () => Promise<void>): Promise<void> {
    const dirty = new Set<UrlState>();
    const dirtyWindows = new Map<string, { st: UrlState; w: WindowState }>();
    for (const value of values) {
      const decoded = decodeCheck(value);
      if (!decoded.ok) {
        this.counters.invalid++;
        this.#log.warn("Invalid website check skipped", { detail: decoded.detail });
        continue;
      }
      const { check, eventTime: t } = decoded;
      const st = await this.#state(check);
      if (t <= st.lastT) {
        this.counters.skipped++;
        continue;
      }
      st.lastT = t;
      st.last = check;
      st.name = check.name;
      st.category = check.category;
      const ms = check.status_code === null ? null : check.response_time_ms;
      pushRecent(st.recent, { t, ms, up: check.is_up }, ROLLING_SIZE);
      for (const size of this.#windows) {
        const start = windowStart(t, size);
        const id = windowId(check.url, start, size);
        let w = st.windows.get(id);
        if (!w) st.windows.set(id, w = { sizeS: size, start, checks: 0, up: 0, samples: [] });
        w.checks++;
        if (check.is_up) w.up++;
        if (ms !== null) w.samples.push(ms);
        dirtyWindows.set(id, { st, w });
      }
      for (const [id, w] of st.windows) if (w.start + 2 * w.sizeS * 1000 < t) st.windows.delete(id);
      const rolling = summarize(st.recent);
      const findings = evaluateRules(check, rolling, this.#rules);
      for (const rule of WEBSITE_RULES) this.#alerts.evaluate(st, rule, findings[rule], t);
      this.counters.checks++;
      dirty.add(st);
    }
    if (dirty.size === 0) return;
    await heartbeat();
    const now = new Date();
    const rollingDocs = [...dirty].map((st) => this.#rollingDoc(st, now));
    const windowDocs = [...dirtyWindows.values()].map(({ st, w }) => this.#windowDoc(st, w, now));
    const ops: AnyBulkWriteOperation<StoredMetrics>[] = [...rollingDocs, ...windowDocs].map((d) => ({
      replaceOne: { filter: { _id: d._id }, replacement: d, upsert: true },
    }));
    await this.#metrics!.bulkWrite(ops, { ordered: false });
    await this.#writeAlerts();
    await heartbeat();
    await this.#producer!.send({
      topic: this.#topics.statistics,
      acks: -1,
      messages: rollingDocs.map((d) => {
        const { recent: _r, ...stats } = d;
        return { key: d.url, value: JSON.stringify(stats) };
      }),
    });
  }

  #rollingDoc(st: UrlState, now: Date): StoredMetrics {
    const last = st.last!;
    return {
      _id: rollingId(st.url),
      kind: "rolling",
      url: st.url,
      name: st.name,
      category: st.category,
      size_s: 0,
      ...summarize(st.recent),
      last_check: new Date(st.lastT),
      last_is_up: last.is_up,
      last_status_code: last.status_code,
      last_response_ms: last.response_time_ms,
      last_error: last.error,
      recent: [...st.recent],
      updated_at: now,
    };
  }

  #windowDoc(st: UrlState, w: WindowState, now: Date): StoredMetrics {
    const last = st.last!;
    const samples = [...w.samples].sort((a, b) => a - b);
    const stats = summarize(samples.map((ms) => ({ ms, up: true })));
    return {
      _id: windowId(st.url, w.start, w.sizeS),
      kind: "window",
      url: st.url,
      name: st.name,
      category: st.category,
      size_s: w.sizeS,
      window_start: new Date(w.start),
      window_end: new Date(w.start + w.sizeS * 1000),
      ...stats,
      checks: w.checks,
      up: w.up,
      uptime_pct: w.checks ? Math.round((w.up / w.checks) * 1000) / 10 : 100,
      last_check: new Date(st.lastT),
      last_is_up: last.is_up,
      last_status_code: last.status_code,
      last_response_ms: last.response_time_ms,
      last_error: last.error,
      samples: w.samples,
      updated_at: now,
    };
  }

  async #writeAlerts(): Promise<void> {
    let { writes, events } = this.#alerts.drain();
    if (writes.length === 0) return;
    const op = (w: WebsiteAlertWrite): AnyBulkWriteOperation<WebsiteAlertDoc> => {
      const { _id, ...fields } = websiteAlertFields(w);
      const set = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
      return {
        updateOne: {
          filter: { _id },
          update: { $set: set, $setOnInsert: { acknowledged: false } } as never,
          upsert: true,
        },
      };
    };
    try {
      await this.#alertsCol!.bulkWrite(writes.map(op), { ordered: false });
    } catch (e) {
      const errors = (e as { writeErrors?: { code?: number; index?: number }[] | { code?: number; index?: number } })
        .writeErrors;
      const list = Array.isArray(errors) ? errors : errors ? [errors] : [];
      if (list.length === 0 || list.some((we) => we.code !== 11000)) throw e;
      // Another alert of the same url and rule is open in the database: continue that one.
      const replaced = new Set<string>();
      for (const we of list) {
        const w = writes[we.index ?? -1];
        if (!w) continue;
        const existing = await this.#alertsCol!.findOne({ url: w.url, rule: w.rule, state: "firing" });
        if (existing) {
          replaced.add(w._id);
          this.#alerts.adopt(existing);
        }
      }
      // Not new after all: the alert continues one already announced.
      events = events.filter((ev) => !(ev.event === "new" && replaced.has(ev.alert._id)));
      writes = this.#alerts.drain().writes;
      if (writes.length) await this.#alertsCol!.bulkWrite(writes.map(op), { ordered: false });
    }
    if (events.length === 0) return;
    await this.#producer!.send({
      topic: this.#topics.alerts,
      acks: -1,
      messages: events.map((e) => ({
        key: e.alert.url,
        value: JSON.stringify({ event: e.event, ...e.alert }),
        headers: { event: e.event, rule: e.alert.rule },
      })),
    });
    for (const e of events) {
      if (e.event === "new") this.counters.alertsNew++;
      else this.counters.alertsResolved++;
      this.#log.info(e.event === "new" ? "Website alert" : "Website alert resolved", {
        url: e.alert.url,
        rule: e.alert.rule,
      });
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#consumer?.disconnect().catch((e) => this.#log.warn("Consumer disconnect failed", { error: e }));
    await this.#producer?.disconnect().catch((e) => this.#log.warn("Producer disconnect failed", { error: e }));
    await this.#client?.close().catch((e) => this.#log.warn("MongoDB close failed", { error: e }));
    this.#markReady();
  }
}
