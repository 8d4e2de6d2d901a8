/**
 * The source against the real broker: after a seek (a rewind), kafkajs still
 * hands over the rest of the fetch response it had fetched before; the source
 * says those batches are stale, and once they are dropped each partition is
 * fetched again from where it was sought.
 */
import assert from "node:assert/strict";
import { createKafka, createLogger, ensureTopics, sensorId } from "@iot/shared";
import { uniqueName, useKafka, waitFor } from "../../dev/testing.ts";
import { type Source, startSource } from "../../processor/source/consumer.ts";
import { reading, send, T0 } from "./fixtures.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const logger = createLogger({ name: "test", level: "error" });

Deno.test(
  "batches fetched before a seek are stale; the sought partitions are fetched again from the seek",
  opts,
  async () => {
    const broker = await useKafka();
    const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
    const admin = kafka.admin();
    const topic = uniqueName("seek");
    let source: Source | undefined;
    try {
      await admin.connect();
      await ensureTopics(admin, [{ topic, numPartitions: 3 }]);
      // Every sensor's readings go to one partition; 30 sensors fill all three.
      await send(kafka, topic, Array.from({ length: 900 }, (_, i) => reading(sensorId((i % 30) + 1), i, T0 + i)));
      const seen: { partition: number; first: number; stale: boolean }[] = [];
      let sought = false;
      const resumed = new Set<number>();
      source = await startSource({
        kafka,
        admin,
        groupId: uniqueName("seek-group"),
        topic,
        fromBeginning: true,
        log: logger,
        handlers: {
          onRebalancing: () => {},
          onAssigned: () => {},
          onCommitted: () => {},
          onFatal: () => {},
          onBatch: (batch, _heartbeat, isStale) => {
            const first = Number(batch.firstOffset());
            if (!sought) {
              // The first batch gives up, as a write that gave up does: every partition is sought back to 0.
              sought = true;
              for (const p of [0, 1, 2]) source!.seek(p, 0);
              return Promise.resolve(undefined);
            }
            const stale = isStale();
            seen.push({ partition: batch.partition, first, stale });
            if (stale) return Promise.resolve(undefined);
            if (first === 0) resumed.add(batch.partition);
            return Promise.resolve(batch.lastOffset());
          },
        },
      });
      await waitFor(() => resumed.size === 3 || undefined, { what: "every partition fetched again from 0" });
      const stale = seen.filter((b) => b.stale);
      assert.ok(stale.length > 0, `kafkajs handed over batches fetched before the seek: ${JSON.stringify(seen)}`);
      for (const p of [0, 1, 2]) {
        const fresh = seen.find((b) => b.partition === p && !b.stale);
        assert.equal(fresh?.first, 0, `partition ${p}: the first batch not stale starts at the seek`);
      }
    } finally {
      await source?.disconnect();
      await admin.disconnect();
    }
  },
);
