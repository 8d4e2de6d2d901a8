/**
 * Opens the sinks of a processor that writes (not consume-only): connects
 * MongoDB, ensures the schema (adapting it to the stand-in), and builds each
 * sink on one shared retrier (bounded by `retryDeadlineMs`, abandoned with the
 * stop's signal) and one publisher for dead letters and alert events.
 */
import type { Admin } from "kafkajs";
import type { Collection, MongoClient } from "mongodb";
import {
  type AnomalyEventDoc,
  COLLECTIONS,
  createMongoClient,
  ensureSchema,
  type Logger,
  type PipelineStatsDoc,
  type ReadingDoc,
} from "@iot/shared";
import { type Alerting, startAlerting } from "../alerting.ts";
import type { Clock } from "../clock.ts";
import type { ProcessorConfig } from "../config.ts";
import type { Counters } from "../counters.ts";
import type { ProcessorMetrics } from "../metrics.ts";
import { adaptToStandIn, OPEN_ALERT_INDEXES } from "../ops/stand_in.ts";
import type { AlertManager, AlertSubject, AlertWrite } from "../stages/alerts.ts";
import { DeadLetterSink, topicMaxMessageBytes } from "./dead_letters.ts";
import { isRetriable } from "./errors.ts";
import { EventSink } from "./events.ts";
import { type OwnedPublisher, type RecordPublisher, usePublisher } from "./publisher.ts";
import { RawSink } from "./raw.ts";
import { createRetrier } from "./retrying.ts";
import { WindowSink } from "./windows.ts";

/** The sinks of a processor that writes. */
export interface Sinks {
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
  rawCol: Collection<ReadingDoc>;
  eventCol: Collection<AnomalyEventDoc>;
}

/** Options of `openSinks`. */
export interface OpenSinksOptions {
  config: ProcessorConfig;
  admin: Admin;
  log: Logger;
  now: Clock;
  /** A shared publisher (closed by its owner); default: one of the sinks' own. */
  publisher?: RecordPublisher;
  /** The alert lifecycle the incidents sink persists. */
  lifecycle: AlertManager;
  metrics: ProcessorMetrics;
  counters: Counters;
  /** Aborted when the stop deadline passes: every retry gives up. */
  signal: AbortSignal;
  /** MongoDB writes succeed again (true) or are being retried (false). */
  onHealth: (ok: boolean) => void;
}

/** The opened sinks and the write concurrency in effect (1 on the stand-in unless configured). */
export interface OpenedSinks {
  sinks: Sinks;
  concurrency: number;
}

/**
 * Connects and builds the sinks; closes the client when that fails.
 *
 * @example
 * ```ts
 * const { sinks, concurrency } = await openSinks({ config, admin, log, now: Date.now, lifecycle, metrics,
 *   counters, signal: abandon.signal, onHealth: (ok) => (healthy = ok) });
 * await sinks.raw.write(valid, new Date());
 * ```
 */
export async function openSinks(o: OpenSinksOptions): Promise<OpenedSinks> {
  const client = createMongoClient(o.config.mongo, { appName: `processor-${o.config.instance}` });
  try {
    return await openOn(client, o);
  } catch (e) {
    await client.close().catch(() => {});
    throw e;
  }
}

async function openOn(client: MongoClient, o: OpenSinksOptions): Promise<OpenedSinks> {
  const { config: cfg, log, metrics, counters } = o;
  await client.connect();
  const db = client.db(cfg.mongo.db);
  const report = await ensureSchema(db, cfg.rawRetentionDays);
  for (const w of report.warnings) log.warn(w);
  if (report.created.length) log.info("Created collections", { created: report.created });
  // ensureSchema created the website incidents' index too: on the stand-in it must go as well.
  const standIn = await adaptToStandIn(db, Object.keys(OPEN_ALERT_INDEXES), log);
  const concurrency = cfg.writeConcurrency || (standIn ? 1 : 4);
  const publisher = usePublisher(o.publisher, { kafka: cfg.kafka, logger: log });
  const retry = createRetrier({
    log,
    retries: metrics.mongoRetries,
    onRetry: () => counters.totals.mongo_retries++,
    onHealth: o.onHealth,
    deadlineMs: cfg.retryDeadlineMs,
    signal: o.signal,
    now: o.now,
    isRetriable,
  });
  const maxMessageBytes = await topicMaxMessageBytes(o.admin, cfg.topics.deadLetters);
  if (maxMessageBytes === undefined) {
    log.warn("Could not read max.message.bytes of the DLQ topic: assuming 1 MB", { topic: cfg.topics.deadLetters });
  }
  const sinks: Sinks = {
    client,
    publisher,
    raw: new RawSink(db.collection(COLLECTIONS.readings), retry, concurrency),
    windows: new WindowSink(db.collection(COLLECTIONS.windows), retry, log, concurrency),
    liveWindows: new WindowSink(db.collection(COLLECTIONS.windows), (_what, fn) => fn(), log, concurrency),
    alerts: startAlerting({
      db,
      collection: COLLECTIONS.incidents,
      subjectField: "sensor_id",
      source: "sensors",
      lifecycle: o.lifecycle,
      publisher: publisher.publisher,
      topic: cfg.topics.alerts,
      retry,
      log,
      now: o.now,
      webhookUrl: cfg.alertWebhookUrl,
      silencePollMs: cfg.silencePollMs,
      onWritten: (n) => metrics.written.inc(n, { collection: COLLECTIONS.incidents }),
      onEvent: (e) => {
        metrics.alerts.inc(1, { event: e.event });
        if (e.event === "opened") counters.totals.alerts_new++;
        else if (e.event === "resolved") counters.totals.alerts_resolved++;
      },
      onDelivery: (outcome) => metrics.webhook.inc(1, { outcome }),
    }),
    events: new EventSink(db.collection(COLLECTIONS.events), retry),
    deadLetters: new DeadLetterSink({
      publisher: publisher.publisher,
      topic: cfg.topics.deadLetters,
      collection: db.collection(COLLECTIONS.deadLetters),
      retry,
      log,
      maxMessageBytes,
    }),
    stats: db.collection(COLLECTIONS.pipelineStats),
    rawCol: db.collection(COLLECTIONS.readings),
    eventCol: db.collection(COLLECTIONS.events),
  };
  return { sinks, concurrency };
}
