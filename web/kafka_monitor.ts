/**
 * Producer throughput and consumer lag read from Kafka with an admin client:
 * topic high watermarks over time give the produce rate, the processor group's
 * committed offsets give the lag per partition. Degrades to "unreachable".
 */
import type { Admin } from "kafkajs";
import { createKafka, type KafkaConfig, type Logger } from "@iot/shared";

/** One partition's offsets. */
export interface PartitionLag {
  partition: number;
  high: number;
  committed?: number;
  lag: number;
}

/** What the pipeline page shows about Kafka. */
export interface KafkaSnapshot {
  status: "ok" | "unreachable" | "disabled";
  error?: string;
  topic: string;
  group: string;
  partitions: PartitionLag[];
  totalLag: number;
  /** Messages per second produced to the topic since the previous sample. */
  produceRate?: number;
  at: number;
}

/** Options of `KafkaMonitor`. */
export interface KafkaMonitorOptions {
  kafka?: KafkaConfig;
  topic: string;
  group: string;
  logger: Logger;
  /** Samples younger than this are reused. */
  cacheMs?: number;
  /** Give up on a sample after this long. */
  timeoutMs?: number;
}

/** The kafkajs client's own connection errors at debug level: the monitor reports unreachability once itself. */
function quiet(logger: Logger): Logger {
  const q: Logger = {
    name: logger.name,
    debug: (m, f) => logger.debug(m, f),
    info: (m, f) => logger.debug(m, f),
    warn: (m, f) => logger.debug(m, f),
    error: (m, f) => logger.debug(m, f),
    child: (name) => quiet(logger.child(name)),
    enabled: (level) => logger.enabled(level),
  };
  return q;
}

/** Samples Kafka on demand (cached), never throwing. */
export class KafkaMonitor {
  #admin?: Promise<Admin>;
  #last?: KafkaSnapshot;
  #pending?: Promise<KafkaSnapshot>;
  #prevHigh?: { total: number; at: number };
  #warned = false;

  constructor(readonly options: KafkaMonitorOptions) {}

  /** The latest sample (taken now when the cached one is old). */
  snapshot(): Promise<KafkaSnapshot> {
    const o = this.options;
    if (!o.kafka) {
      return Promise.resolve({
        status: "disabled",
        topic: o.topic,
        group: o.group,
        partitions: [],
        totalLag: 0,
        at: Date.now(),
      });
    }
    if (this.#last && Date.now() - this.#last.at < (o.cacheMs ?? 2000)) return Promise.resolve(this.#last);
    this.#pending ??= this.#sample().finally(() => this.#pending = undefined);
    return this.#pending;
  }

  async #sample(): Promise<KafkaSnapshot> {
    const o = this.options;
    const at = Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const work = (async () => {
        const admin = await this.#connect();
        const [high, committed] = await Promise.all([
          admin.fetchTopicOffsets(o.topic),
          admin.fetchOffsets({ groupId: o.group, topics: [o.topic] }),
        ]);
        return { high, committed };
      })();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${o.timeoutMs ?? 3000} ms`)), o.timeoutMs ?? 3000);
      });
      const { high, committed } = await Promise.race([work, timeout]);
      const byPartition = new Map<number, number>();
      for (const t of committed) {
        for (const p of t.partitions) if (Number(p.offset) >= 0) byPartition.set(p.partition, Number(p.offset));
      }
      const partitions: PartitionLag[] = high.map((p) => {
        const h = Number(p.high);
        const c = byPartition.get(p.partition);
        const low = Number(p.low);
        return { partition: p.partition, high: h, committed: c, lag: Math.max(0, h - (c ?? low)) };
      }).sort((a, b) => a.partition - b.partition);
      const total = partitions.reduce((s, p) => s + p.high, 0);
      let produceRate: number | undefined;
      if (this.#prevHigh && at > this.#prevHigh.at) {
        produceRate = Math.max(0, (total - this.#prevHigh.total) / ((at - this.#prevHigh.at) / 1000));
      }
      this.#prevHigh = { total, at };
      this.#warned = false;
      this.#last = {
        status: "ok",
        topic: o.topic,
        group: o.group,
        partitions,
        totalLag: partitions.reduce((s, p) => s + p.lag, 0),
        produceRate,
        at,
      };
    } catch (e) {
      if (!this.#warned) o.logger.warn("Kafka unreachable for pipeline stats", { error: e as Error });
      this.#warned = true;
      const admin = this.#admin;
      this.#admin = undefined;
      admin?.then((a) => a.disconnect()).catch(() => {});
      this.#last = {
        status: "unreachable",
        error: (e as Error).message,
        topic: o.topic,
        group: o.group,
        partitions: [],
        totalLag: 0,
        at,
      };
    } finally {
      clearTimeout(timer);
    }
    return this.#last;
  }

  #connect(): Promise<Admin> {
    this.#admin ??= (async () => {
      const kafka = await createKafka(this.options.kafka!, {
        role: "web",
        logger: quiet(this.options.logger),
        overrides: { retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1000 }, connectionTimeout: 2000 },
      });
      const admin = kafka.admin();
      await admin.connect();
      return admin;
    })();
    this.#admin.catch(() => this.#admin = undefined);
    return this.#admin;
  }

  /** Disconnects the admin client. */
  async close(): Promise<void> {
    const admin = this.#admin;
    this.#admin = undefined;
    await this.#pending?.catch(() => {});
    if (admin) await admin.then((a) => a.disconnect()).catch(() => {});
  }
}
