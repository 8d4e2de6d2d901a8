/**
 * The consumer clients of the failover matrix behind one interface (`ConsumerUnderTest`): `kafkajs` as the
 * processor's own source, `platformatic` as a `@platformatic/kafka` `Consumer` in a group.
 */
import { Consumer, type Message } from "@platformatic/kafka";
import type { Batch } from "kafkajs";
import { createKafka, type Logger } from "@iot/shared";
import { type Source, startSource } from "../../processor/source/consumer.ts";
import { settleWithin, sleep } from "./common.ts";
import type { ConsumerClient } from "./types.ts";

/** What a consumer under test reports: each record as it is handled, and its commits. */
export interface ConsumerProbe {
  /** A record handled now (partition, offset). */
  handled(partition: number, offset: number): void;
  commitOk(): void;
  commitError(e: unknown): void;
  commitDeferred(): void;
  restarted(e: unknown): void;
  crashed(e: unknown): void;
}

/** A consumer under test. */
export interface ConsumerUnderTest {
  /** Resolves once the group assigned it every partition of the topic. */
  assigned: Promise<void>;
  /** Commits the next offsets of what was handled (one attempt). */
  commitHandled(): Promise<void>;
  close(): Promise<void>;
}

/** Highest handled offset + 1 per partition (what to commit). */
export type NextOffsets = Map<number, number>;

/** What `openConsumer` opens: a consumer of `client` in `group` on `topic`, reporting to `probe`. */
export interface ConsumerOptions {
  client: ConsumerClient;
  brokers: string[];
  topic: string;
  group: string;
  /** Highest handled offset + 1 per partition, kept by the probe (the kafkajs consumer commits these). */
  next: NextOffsets;
  probe: ConsumerProbe;
  /** Where the kafkajs consumer logs. */
  logger: Logger;
  /** Aborted: the platformatic consumer stops reopening its stream. */
  bound: AbortSignal;
}

/** The processor's kafkajs source, fed to a probe; commits through `Source.commit` as the processor's committer. */
async function kafkajsConsumer(
  { brokers, topic, group, next, probe, logger }: ConsumerOptions,
): Promise<ConsumerUnderTest> {
  const kafka = await createKafka({ brokers, clientId: "failover-bench" }, { role: "processor", logger });
  const admin = kafka.admin();
  await admin.connect();
  let assignedAll!: () => void;
  const assigned = new Promise<void>((r) => assignedAll = r);
  const source: Source = await startSource({
    kafka,
    admin,
    groupId: group,
    topic,
    fromBeginning: true,
    log: logger,
    handlers: {
      onRebalancing: () => {},
      onAssigned: (partitions) => {
        if (partitions.length === 3) assignedAll();
      },
      onCommitted: () => {},
      onFatal: () => probe.crashed(new Error("kafkajs consumer crashed without restart")),
      onBatch: (batch: Batch, _heartbeat, isStale) => {
        if (isStale() || batch.messages.length === 0) return Promise.resolve(undefined);
        for (const m of batch.messages) probe.handled(batch.partition, Number(m.offset));
        return Promise.resolve(batch.messages[batch.messages.length - 1].offset);
      },
    },
  });
  return {
    assigned,
    async commitHandled() {
      const offsets = [...next].map(([partition, offset]) => ({ partition, offset }));
      if (offsets.length === 0) return;
      try {
        // As the processor: wait up to 1 s for a joined group, else defer to the next flush.
        const done = await source.commit(offsets, source.generation, 1000);
        if (done.length === 0) probe.commitDeferred();
        else probe.commitOk();
      } catch (e) {
        probe.commitError(e);
      }
    },
    async close() {
      await source.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    },
  };
}

/**
 * A `@platformatic/kafka` consumer in a group (`autocommit: false`, from the committed offsets, else the earliest),
 * each partition's last handled message committed. A stream that fails is closed and consumed anew (counted as a
 * restart), as an application would have to.
 */
function platformaticConsumer({ brokers, topic, group, probe, bound }: ConsumerOptions): ConsumerUnderTest {
  const consumer = new Consumer({
    clientId: "failover-bench-platformatic",
    bootstrapBrokers: brokers,
    groupId: group,
    autocommit: false,
    // The processor's group timing.
    sessionTimeout: 30_000,
    heartbeatInterval: 3000,
  });
  const last = new Map<number, Message>();
  let assignedAll!: () => void;
  const assigned = new Promise<void>((r) => assignedAll = r);
  consumer.on("consumer:group:join", (p) => {
    const mine = p.assignments?.find((a) => a.topic === topic)?.partitions ?? [];
    if (mine.length === 3) assignedAll();
  });
  let closing = false;
  let stream: Awaited<ReturnType<typeof consumer.consume>> | undefined;
  const consume = async (): Promise<void> => {
    while (!closing && !bound.aborted) {
      try {
        const s = await consumer.consume({
          topics: [topic],
          mode: "committed",
          fallbackMode: "earliest",
          autocommit: false,
          sessionTimeout: 30_000,
          heartbeatInterval: 3000,
        });
        stream = s;
        const failed = new Promise<unknown>((resolve) => {
          s.on("error", resolve);
          s.on("close", () => resolve(undefined));
        });
        s.on("data", (m: Message) => {
          probe.handled(m.partition, Number(m.offset));
          last.set(m.partition, m);
        });
        const reason = await failed;
        if (closing) return;
        probe.restarted(reason ?? new Error("stream closed"));
        await s.close().catch(() => {});
      } catch (e) {
        if (closing) return;
        probe.restarted(e);
        await sleep(500);
      }
      last.clear(); // a new stream: messages of the old one are not committed through it
    }
  };
  const running = consume();
  return {
    assigned,
    async commitHandled() {
      const todo = [...last.values()];
      last.clear();
      if (todo.length === 0) return;
      try {
        await Promise.all(todo.map((m) => m.commit()));
        probe.commitOk();
      } catch (e) {
        probe.commitError(e);
      }
    },
    async close() {
      closing = true;
      if (stream) await settleWithin(stream.close().catch(() => {}), 10_000);
      await settleWithin(consumer.close(true).catch(() => {}), 10_000);
      await settleWithin(running, 5000);
    },
  };
}

/** Opens a consumer under test of `options.client`. */
export async function openConsumer(options: ConsumerOptions): Promise<ConsumerUnderTest> {
  return options.client === "kafkajs" ? await kafkajsConsumer(options) : platformaticConsumer(options);
}
