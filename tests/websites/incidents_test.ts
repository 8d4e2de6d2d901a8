/**
 * Website incidents on the MongoDB stand-in with the sensor processor beside
 * the website handler (as `deno task up` runs them): a second outage of the
 * same url is written as a second incident, although the sensor processor's
 * schema set-up created the "one open incident per url" index too.
 */
import assert from "node:assert/strict";
import { COLLECTIONS, createKafka, createLogger, type WebsiteAlertDoc, type WebsiteCheck } from "@iot/shared";
import { startProcessor } from "../../processor/mod.ts";
import { startWebsiteProcessor } from "../../processor/websites/mod.ts";
import { uniqueName, useKafka, useMongo, waitFor } from "../../dev/testing.ts";

const logger = createLogger({ name: "test", level: "warn", format: "json" });

Deno.test("a second outage of the same url is a second incident on the stand-in", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const kafka = await useKafka();
  const mongo = await useMongo();
  const base = uniqueName("inc");
  const topics = { checks: `${base}-checks`, alerts: `${base}-alerts`, statistics: `${base}-stats` };
  const common = {
    kafka: { brokers: kafka.brokers, clientId: "test" },
    mongo: { url: mongo.url, db: mongo.dbName },
    logger,
  };
  const websites = await startWebsiteProcessor({ ...common, groupId: uniqueName("websites"), topics, partitions: 1 });
  // The sensor processor starts after the website handler and sets up every collection's indexes.
  const sensors = await startProcessor({
    ...common,
    topics: { readings: `${base}-data`, deadLetters: `${base}-data.dlq`, alerts: `${base}-sensor-alerts` },
    groupId: uniqueName("group"),
    metricsPort: 0,
  });
  const client = await createKafka({ brokers: kafka.brokers, clientId: "test" }, { role: "test", logger });
  const producer = client.producer();
  try {
    await websites.ready;
    await sensors.ready;
    await producer.connect();
    const url = "http://127.0.0.1:9/";
    const t0 = Date.UTC(2026, 0, 1);
    const check = (i: number, up: boolean): WebsiteCheck => ({
      url,
      name: "t",
      category: "test",
      timestamp: new Date(t0 + i * 1000).toISOString(),
      response_time_ms: 5,
      status_code: up ? 200 : 500,
      is_up: up,
      content_length: up ? 2 : null,
      error: up ? null : "HTTP 500",
    });
    const send = (checks: WebsiteCheck[]) =>
      producer.send({
        topic: topics.checks,
        messages: checks.map((c) => ({ key: c.url, value: JSON.stringify(c) })),
      });
    const incidents = mongo.client.db(mongo.dbName).collection<WebsiteAlertDoc>(COLLECTIONS.websiteAlerts);
    // First outage, recovery.
    await send([check(0, false), check(1, false), check(2, true)]);
    await waitFor(() => incidents.findOne({ url, state: "resolved" }), { what: "first outage resolved" });
    // Second outage of the same url.
    await send([check(3, false), check(4, false)]);
    const second = await waitFor(async () => (await incidents.findOne({ url, state: "firing" })) ?? undefined, {
      what: "second incident",
    });
    assert.equal(second._id, `${url}|${t0 + 4000}`);
    assert.equal(await incidents.countDocuments({ url }), 2);
  } finally {
    await producer.disconnect().catch(() => {});
    await websites.stop().catch(() => {});
    await sensors.stop().catch(() => {});
    await mongo.close();
    await kafka.close();
  }
});
