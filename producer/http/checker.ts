/**
 * The uptime checker: checks every target on its own interval with a bound on
 * concurrent requests, and publishes each check to Kafka keyed by url. A target
 * that hangs holds one slot for at most its timeout; the others keep their pace.
 * Checks go out through the native client (`producer/kafka`: idempotent,
 * acks=all, leader moves followed, a delivery timeout in time), which keeps
 * every acknowledged check through a leader failover; kafkajs 2.2.4's producer
 * does not (tulios/kafkajs#1303).
 */
import { createKafka, ensureTopics, type KafkaSecurity, type Logger, TOPICS, type WebsiteCheck } from "@iot/shared";
import { NativeProducer } from "../kafka/mod.ts";
import { checkLine, checkTarget } from "./check.ts";
import type { CheckerMetrics } from "./metrics.ts";
import type { WebsiteTarget } from "./targets.ts";

/** Options of `startChecker`. */
export interface CheckerOptions {
  targets: WebsiteTarget[];
  brokers: string[];
  /** Topic of checks (default `website-checks`). */
  topic?: string;
  /** Partitions if the topic is created (default 3). */
  partitions?: number;
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  /** Stop after this many seconds (default: until stopped). */
  durationS?: number;
  clientId?: string;
  /** TLS and SASL of the Kafka connections (default: none). */
  security?: KafkaSecurity;
  /** A check not acknowledged within this long is counted as failed, ms (default 120 000, as the Java client). */
  deliveryTimeoutMs?: number;
  logger: Logger;
  /** Aborting stops the checker: in-flight checks are cancelled, sent checks flushed. */
  signal?: AbortSignal;
  /** Called for each check after it was published. */
  onCheck?: (check: WebsiteCheck) => void;
  /** Counts checks and response times (absent: not counted). */
  metrics?: CheckerMetrics;
}

/** Counters of a checker run. */
export interface CheckerResult {
  checks: number;
  up: number;
  down: number;
  /** Checks that could not be published. */
  failed: number;
}

/** A running checker. */
export interface CheckerHandle {
  /** Resolves when the checker stopped (duration over or `stop()`), after the last send. */
  done: Promise<CheckerResult>;
  /** The counters so far. */
  result(): CheckerResult;
  stop(): Promise<CheckerResult>;
}

/** A counting semaphore. */
class Slots {
  #free: number;
  #waiting: (() => void)[] = [];
  constructor(n: number) {
    this.#free = n;
  }
  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }
  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Connects to Kafka, creates the topic if missing and starts checking. */
export async function startChecker(options: CheckerOptions): Promise<CheckerHandle> {
  const log = options.logger;
  const topic = options.topic ?? TOPICS.websiteChecks;
  const kafka = await createKafka({
    brokers: options.brokers,
    clientId: options.clientId ?? "iot-pipeline",
    ...options.security,
  }, {
    role: "checker",
    logger: log,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [{ topic, numPartitions: options.partitions ?? 3 }]);
  } finally {
    await admin.disconnect();
  }
  const producer = await NativeProducer.connect({
    brokers: options.brokers,
    clientId: `${options.clientId ?? "iot-pipeline"}-checker`,
    topic,
    acks: -1,
    idempotent: true,
    compression: "none",
    ...(options.deliveryTimeoutMs === undefined ? {} : { deliveryTimeoutMs: options.deliveryTimeoutMs }),
    security: options.security,
    logger: log.child("kafka"),
  });

  const stop = new AbortController();
  const onOuter = () => stop.abort();
  options.signal?.addEventListener("abort", onOuter, { once: true });
  if (options.signal?.aborted) stop.abort();
  const durationTimer = options.durationS ? setTimeout(() => stop.abort(), options.durationS * 1000) : undefined;
  const slots = new Slots(Math.max(1, options.concurrency ?? 8));
  const result: CheckerResult = { checks: 0, up: 0, down: 0, failed: 0 };

  // One send at a time keeps the checks of a url in order; checks waiting meanwhile go in the next batch.
  let queue: WebsiteCheck[] = [];
  let sending: Promise<void> = Promise.resolve();
  const publish = (check: WebsiteCheck): Promise<void> => {
    queue.push(check);
    sending = sending.then(async () => {
      if (queue.length === 0) return;
      const batch = queue;
      queue = [];
      // One send per check, in order (a url's checks stay in order on its partition), for an outcome per check.
      const outcomes = await Promise.all(
        batch.map((c) =>
          producer.send([{ key: c.url, value: JSON.stringify(c) }], Date.now()).catch((error: Error) => ({
            acked: 0,
            failed: 1,
            error,
          }))
        ),
      );
      let failed = 0;
      let firstError: Error | undefined;
      batch.forEach((c, i) => {
        if (outcomes[i].acked === 1) {
          result.checks++;
          if (c.is_up) result.up++;
          else result.down++;
          options.metrics?.record(c);
          options.onCheck?.(c);
        } else {
          failed++;
          firstError ??= outcomes[i].error;
        }
      });
      if (failed > 0) {
        result.failed += failed;
        options.metrics?.failed.inc(failed);
        log.error("Checks not published", { count: failed, error: firstError });
      }
    });
    return sending;
  };

  const loop = async (target: WebsiteTarget, offsetMs: number): Promise<void> => {
    await sleep(offsetMs, stop.signal);
    let next = performance.now();
    while (!stop.signal.aborted) {
      await slots.acquire();
      let check: WebsiteCheck;
      try {
        if (stop.signal.aborted) break;
        check = await checkTarget(target, { signal: stop.signal });
      } finally {
        slots.release();
      }
      if (stop.signal.aborted && check.error === "Stopped") break;
      log.info(checkLine(check));
      publish(check);
      next += target.intervalS * 1000;
      // A check longer than the interval is not followed by a burst of catch-up checks.
      if (next < performance.now()) next = performance.now();
      await sleep(next - performance.now(), stop.signal);
    }
  };

  options.metrics?.targets.set(options.targets.length);
  log.info("Checking targets", { targets: options.targets.length, topic, concurrency: options.concurrency ?? 8 });
  // Spread the first checks over a short time so the targets do not all start at once.
  const spread = Math.min(1000, 50 * options.targets.length);
  const loops = options.targets.map((t, i) => loop(t, (i * spread) / options.targets.length));
  const done = (async () => {
    await Promise.all(loops);
    await sending;
    if (durationTimer !== undefined) clearTimeout(durationTimer);
    options.signal?.removeEventListener("abort", onOuter);
    producer.close();
    log.info("Checker stopped", { ...result });
    return result;
  })();
  return {
    done,
    result: () => ({ ...result }),
    stop: () => {
      stop.abort();
      return done;
    },
  };
}
