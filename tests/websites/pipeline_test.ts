/**
 * Checker → Kafka → website handler → MongoDB against local targets: a silent
 * target never holds up the others, failing targets raise WEBSITE_DOWN, a
 * recovering one resolves it, statistics land in website_metrics and on the
 * statistics topic, and a restarted handler does not count a check twice.
 */
import assert from "node:assert/strict";
import { COLLECTIONS, createKafka, createLogger, type WebsiteAlertDoc, type WebsiteMetricsDoc } from "@iot/shared";
import { readTopic } from "../producer/helpers.ts";
import { startChecker, type WebsiteTarget } from "../../producer/http/mod.ts";
import { startWebsiteProcessor } from "../../processor/websites/mod.ts";
import { uniqueName, useKafka, useMongo, waitFor } from "../../dev/testing.ts";
import { startLocalTargets } from "./servers.ts";

const logger = createLogger({ name: "test", level: "warn", format: "json" });

Deno.test("uptime pipeline: checks, stats, alerts raised and resolved, restart-safe", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const kafka = await useKafka();
  const mongo = await useMongo();
  const srv = startLocalTargets(200);
  const topics = {
    checks: uniqueName("website-checks"),
    alerts: uniqueName("website-alerts"),
    statistics: uniqueName("website-statistics"),
  };
  const t = (name: string, url: string, timeoutS = 0.5): WebsiteTarget => ({
    name,
    url,
    category: "test",
    intervalS: 0.2,
    timeoutS,
  });
  const targets = [
    t("fast", srv.fast),
    t("slow", srv.slow, 2),
    t("error", srv.error),
    t("silent", srv.silent, 3),
    t("refused", srv.refused),
    t("flaky", srv.flaky),
  ];
  const common = {
    kafka: { brokers: kafka.brokers, clientId: "test" },
    mongo: { url: mongo.url, db: mongo.dbName },
    logger,
    groupId: uniqueName("websites"),
    topics,
    partitions: 2,
    windowsS: [60],
    rules: { minChecks: 3, responseTimeMs: 100 },
  };
  let handler = await startWebsiteProcessor(common);
  const checker = await startChecker({
    targets,
    brokers: kafka.brokers,
    topic: topics.checks,
    partitions: 2,
    concurrency: 3,
    logger,
  });
  const db = mongo.client.db(mongo.dbName);
  const metrics = db.collection<WebsiteMetricsDoc>(COLLECTIONS.websiteMetrics);
  const alerts = db.collection<WebsiteAlertDoc>(COLLECTIONS.websiteAlerts);
  let restarted = false;
  try {
    // The silent target holds a slot for 3 s per check; the fast one still gets many checks meanwhile.
    const fast = await waitFor(async () => {
      const d = await metrics.findOne({ _id: `${srv.fast}|rolling` });
      return d && d.checks >= 8 ? d : undefined;
    }, { timeoutMs: 30_000, what: "8 checks of the fast target" });
    assert.equal(fast.uptime_pct, 100);
    assert.equal(fast.last_status_code, 200);
    assert.equal(fast.kind, "rolling");
    assert.ok(fast.p95_ms !== null && fast.avg_ms !== null);
    const silentChecks = (await metrics.findOne({ _id: `${srv.silent}|rolling` }))?.checks ?? 0;
    assert.ok(silentChecks < fast.checks, `silent ${silentChecks} vs fast ${fast.checks}`);

    for (const url of [srv.error, srv.refused]) {
      await waitFor(() => alerts.findOne({ url, "rules.WEBSITE_DOWN.active": true, state: "firing" }), {
        timeoutMs: 20_000,
        what: `WEBSITE_DOWN for ${url}`,
      });
    }
    await waitFor(() => alerts.findOne({ url: srv.silent, "rules.WEBSITE_DOWN.active": true, state: "firing" }), {
      timeoutMs: 20_000,
      what: "WEBSITE_DOWN for the silent target (timeout)",
    });
    const errAlert = await waitFor(
      async () =>
        (await alerts.findOne({ url: srv.error, "rules.LOW_UPTIME.active": true, state: "firing" })) ?? undefined,
      {
        timeoutMs: 20_000,
        what: "LOW_UPTIME for the failing target",
      },
    );
    assert.equal(errAlert.severity, "critical");
    assert.ok(errAlert.rules?.WEBSITE_DOWN, "one incident per url: LOW_UPTIME joined the outage");
    assert.equal(errAlert.acknowledged, false);
    await waitFor(() => alerts.findOne({ url: srv.slow, "rules.HIGH_RESPONSE_TIME.active": true, state: "firing" }), {
      timeoutMs: 20_000,
      what: "HIGH_RESPONSE_TIME for the slow target",
    });
    assert.equal(await alerts.countDocuments({ url: srv.fast }), 0, "the fast target raises nothing");

    // Flaky goes down: one open WEBSITE_DOWN (acknowledged by an operator), then recovers: resolved.
    srv.setFlaky(false);
    const open = await waitFor(
      async () =>
        (await alerts.findOne({ url: srv.flaky, "rules.WEBSITE_DOWN.active": true, state: "firing" })) ?? undefined,
      {
        timeoutMs: 20_000,
        what: "WEBSITE_DOWN for the flaky target",
      },
    );
    await alerts.updateOne({ _id: open._id }, { $set: { acknowledged: true, acknowledged_by: "ops" } });
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(await alerts.countDocuments({ url: srv.flaky, state: "firing" }), 1);

    // Restart the handler while checks continue: state is reloaded, nothing counted twice.
    await handler.stop();
    handler = await startWebsiteProcessor(common);
    restarted = true;
    srv.setFlaky(true);
    // WEBSITE_DOWN clears with the first check up; the incident resolves once LOW_UPTIME (if it joined) clears too.
    const resolved = await waitFor(async () => {
      const d = await alerts.findOne({ _id: open._id });
      return d?.rules?.WEBSITE_DOWN?.active === false ? d : undefined;
    }, { timeoutMs: 30_000, what: "WEBSITE_DOWN of the flaky target cleared" });
    assert.equal(resolved.acknowledged, true, "acknowledgement kept");
    assert.equal(resolved.acknowledged_by, "ops");
    assert.ok(resolved.state === "resolved" ? resolved.resolved_at : resolved.rules?.LOW_UPTIME?.active);
    assert.equal(
      await alerts.countDocuments({ url: srv.flaky, "rules.WEBSITE_DOWN": { $exists: true } }),
      1,
      "one incident per episode",
    );

    const result = await checker.stop();
    assert.equal(result.failed, 0);
    // Every published check of the fast target is counted exactly once across the restart.
    const published = result.checks;
    await waitFor(async () => {
      const docs = await metrics.find({ kind: "rolling" }).toArray();
      const total = docs.reduce((n, d) => n + (d.recent?.length ?? 0), 0);
      return total === published ? true : undefined;
    }, { timeoutMs: 20_000, what: `${published} checks counted` });
    const windows = await metrics.find({ kind: "window", url: srv.fast }).toArray();
    const rolling = await metrics.findOne({ _id: `${srv.fast}|rolling` });
    assert.equal(windows.reduce((n, w) => n + w.checks, 0), rolling!.recent!.length, "windows count each check once");
    assert.ok(restarted);

    // The alerts and statistics topics carry the same story, keyed by url.
    const client = await createKafka({ brokers: kafka.brokers, clientId: "test" }, { role: "readback", logger });
    const events = (await readTopic(client, topics.alerts)).map((m) => ({
      key: m.key,
      ...JSON.parse(new TextDecoder().decode(m.value)),
    }));
    const flaky = events.filter((e) => e.groupKey === open._id).map((e) => e.event);
    assert.equal(flaky[0], "opened", "one opened event for the flaky episode");
    assert.equal(flaky.filter((e) => e === "opened").length, 1);
    assert.ok(events.every((e) => e.key === e.incident.url && !("acknowledged" in e.incident)));
    const stats = (await readTopic(client, topics.statistics)).map((m) => ({
      key: m.key,
      ...JSON.parse(new TextDecoder().decode(m.value)),
    }));
    const fastStats = stats.filter((m) => m.key === srv.fast);
    assert.ok(fastStats.length > 0);
    assert.equal(fastStats.at(-1).uptime_pct, 100);
    assert.equal("recent" in fastStats[0], false, "the topic carries the statistics, not the check list");
  } finally {
    await checker.stop().catch(() => {});
    await handler.stop().catch(() => {});
    await srv.close();
    await mongo.close();
    await kafka.close();
  }
});
