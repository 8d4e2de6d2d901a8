/**
 * The alerting side of a handler, the same for sensors and websites: the
 * incidents sink (`sinks/alerts.ts`), the optional webhook notifier
 * (`sinks/webhook.ts`) fed by the sink's announcements and recording delivery
 * on the incident, and the silences poller that keeps the engine's silences
 * current (bounded: unexpired silences only, at most `MAX_SILENCES`).
 */
import type { Collection, Db } from "mongodb";
import type { RecordPublisher } from "./sinks/publisher.ts";
import { COLLECTIONS, type Logger, type SilenceDoc } from "@iot/shared";
import type { Clock } from "./clock.ts";
import { AlertSink, type AlertSinkOptions } from "./sinks/alerts.ts";
import type { Retrier } from "./sinks/retrying.ts";
import { type DeliveryOutcome, WebhookNotifier } from "./sinks/webhook.ts";
import type { ActiveSilence, AlertLifecycle, AnyAlertWrite } from "./stages/alert_lifecycle.ts";

/** Silences read at most (the newest expiring last). */
export const MAX_SILENCES = 1000;

/** Default interval of the silences poll. */
export const SILENCE_POLL_MS = 5000;

/** Options of `startAlerting`. */
export interface AlertingOptions<S, W extends AnyAlertWrite> {
  db: Db;
  /** Collection of the incidents. */
  collection: string;
  subjectField: AlertSinkOptions<S, W>["subjectField"];
  source: string;
  lifecycle: AlertLifecycle<S, W>;
  publisher: RecordPublisher;
  topic: string;
  retry: Retrier;
  log: Logger;
  now: Clock;
  /** `ALERT_WEBHOOK_URL`: announcements are also POSTed there. */
  webhookUrl?: string;
  /** Interval of the silences poll (default 5 s; 0: no timer, call `refreshSilences`). */
  silencePollMs?: number;
  onWritten?: AlertSinkOptions<S, W>["onWritten"];
  onEvent?: AlertSinkOptions<S, W>["onEvent"];
  onDelivery?: (outcome: DeliveryOutcome) => void;
}

/** The running alerting side of a handler. */
export interface Alerting<S, W extends AnyAlertWrite> {
  sink: AlertSink<S, W>;
  notifier?: WebhookNotifier;
  /** Reads the unexpired silences and applies them to the engine. */
  refreshSilences(): Promise<void>;
  /** Stops the poll and the notifier (bounded by `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/** The unexpired silences of `col` at `now`, as the engine matches them. */
export async function loadSilences(col: Collection<SilenceDoc>, now: number): Promise<ActiveSilence[]> {
  const docs = await col.find({ expires_at: { $gt: new Date(now) } }).sort({ expires_at: -1 }).limit(MAX_SILENCES)
    .toArray();
  return docs.map((d) => ({ id: d._id, matchers: d.matchers ?? {}, expiresAt: d.expires_at.getTime() }));
}

/** Wires the incidents sink, the notifier and the silences poll. */
export function startAlerting<S, W extends AnyAlertWrite>(o: AlertingOptions<S, W>): Alerting<S, W> {
  const incidents = o.db.collection(o.collection);
  const notifier = o.webhookUrl
    ? new WebhookNotifier({
      url: o.webhookUrl,
      log: o.log.child("webhook"),
      now: o.now,
      onOutcome: o.onDelivery,
      record: async (payload, delivery) => {
        await incidents.updateOne({ _id: payload.groupKey as never }, { $set: { delivery } });
      },
    })
    : undefined;
  const sink = new AlertSink<S, W>({
    lifecycle: o.lifecycle,
    collection: incidents as unknown as Collection<W>,
    subjectField: o.subjectField,
    source: o.source,
    publisher: o.publisher,
    topic: o.topic,
    retry: o.retry,
    onWritten: o.onWritten,
    onEvent: (e, payload) => {
      notifier?.enqueue(payload);
      o.onEvent?.(e, payload);
    },
  });
  const silences = o.db.collection<SilenceDoc>(COLLECTIONS.silences);
  let stopped = false;
  let busy = false;
  const refreshSilences = async () => {
    o.lifecycle.setSilences(await loadSilences(silences, o.now()));
  };
  const pollMs = o.silencePollMs ?? SILENCE_POLL_MS;
  const timer = pollMs > 0
    ? setInterval(() => {
      if (busy || stopped) return;
      busy = true;
      refreshSilences().catch((e) => o.log.debug("Silences not read (the last ones stay)", { error: e }))
        .finally(() => (busy = false));
    }, pollMs)
    : undefined;
  return {
    sink,
    notifier,
    refreshSilences,
    stop: async (graceMs = 5000) => {
      stopped = true;
      clearInterval(timer);
      await notifier?.stop(graceMs);
    },
  };
}
