/**
 * Compatibility with a client the team did not write: kafka-python sends
 * readings in the reference format (Python `isoformat()` times with `+00:00`,
 * no `seq`, `MODEL_03`, an unknown type and unknown locations, an unnamed
 * field); every record it acknowledged is in the topic and passes the reading
 * contract with a unique id.
 */
import assert from "node:assert/strict";
import { createKafka, createLogger, decodeReading, ensureTopics } from "@iot/shared";
import { uniqueName, useKafka } from "../../dev/testing.ts";
import { deleteTopics, readTopic } from "../producer/helpers.ts";
import { sendReferenceReadings } from "./kafka_python.ts";

const logger = createLogger({ name: "test", level: "warn" });
const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("kafka-python's acknowledged reference readings all decode, with unique ids", opts, async () => {
  const broker = await useKafka();
  const kafka = await createKafka({ brokers: broker.brokers, clientId: "test" }, { role: "test", logger });
  const topic = uniqueName("compat-kafka-python");
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [{ topic, numPartitions: 3 }]);
    const count = 300;
    const run = await sendReferenceReadings({ brokers: broker.brokers, topic, count });
    assert.deepEqual(run.errors, [], "kafka-python acknowledged every send");
    assert.equal(run.sent, count);
    assert.equal(run.acked.length, count);

    const records = await readTopic(kafka, topic);
    assert.equal(records.length, run.acked.length, "the topic holds exactly the acknowledged records");
    const at = new Map(records.map((r) => [`${r.partition}@${r.offset}`, r]));
    const ids = new Set<string>();
    const types = new Set<string>(), locations = new Set<string>(), stamps = new Set<string>();
    let withSeq = 0, withExtra = 0, withMetadata = 0, withoutStatus = 0;
    for (const a of run.acked) {
      const r = at.get(`${a.partition}@${a.offset}`);
      assert.ok(r, `acknowledged record ${a.partition}@${a.offset} is in the topic`);
      assert.equal(r.key, a.key);
      assert.equal(new TextDecoder().decode(r.value), a.value, "the bytes kafka-python sent");
      const d = decodeReading(r.value);
      assert.ok(d.ok, `${a.value}: ${!d.ok && `${d.reason}: ${d.detail}`}`);
      ids.add(d.id);
      types.add(d.reading.sensor_type);
      locations.add(d.reading.location);
      stamps.add((JSON.parse(a.value) as { timestamp: string }).timestamp);
      if (d.reading.seq !== undefined) withSeq++;
      if (d.reading.extra?.rssi !== undefined) withExtra++;
      if (d.reading.metadata?.sensor_model?.startsWith("MODEL_")) withMetadata++;
      if (d.reading.status === undefined) withoutStatus++;
      assert.equal(d.eventTime, Date.parse(JSON.parse(a.value).timestamp), "event time is the sent time (ms)");
    }
    assert.equal(ids.size, count, "every reading has its own id");
    assert.deepEqual([...types].sort(), ["co2", "humidity", "temperature"]);
    assert.deepEqual([...locations].sort(), ["cold store 2", "greenhouse-3", "office-main"]);
    for (const s of stamps) assert.match(s, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/, "Python isoformat()");
    assert.equal(withSeq, 0, "the reference format has no seq");
    assert.equal(withExtra, count / 3, "the unnamed field rssi is kept");
    assert.equal(withMetadata, count / 2);
    assert.equal(withoutStatus, count / 4);
  } finally {
    await admin.disconnect().catch(() => {});
    await deleteTopics(kafka, [topic]);
  }
});
