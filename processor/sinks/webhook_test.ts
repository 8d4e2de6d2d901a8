import assert from "node:assert/strict";
import { createLogger, type IncidentDelivery } from "@iot/shared";
import { announcementPayload } from "../stages/announce.ts";
import { AlertManager } from "../stages/alerts.ts";
import { WebhookNotifier } from "./webhook.ts";

const log = createLogger({ name: "test", level: "error" });

function payload(id = "sensor_0001") {
  const m = new AlertManager({ default: { for: {}, clear: {} } }, () => 0);
  const subject = { sensor_id: id, sensor_type: "temperature", location: "office-lab" };
  m.evaluate(subject, "threshold", { severity: "warning", value: 27, threshold: 25, message: "hot" }, 1000);
  const e = m.drain().events[0];
  return announcementPayload("sensors", e, { sensor_id: id, sensor_type: "temperature", location: "office-lab" });
}

/** A local webhook that fails the first `failures` requests with 503. */
function webhook(failures: number) {
  const bodies: unknown[] = [];
  let calls = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    calls++;
    const body = await req.json();
    if (calls <= failures) return new Response("busy", { status: 503 });
    bodies.push(body);
    return new Response("ok");
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hook`,
    bodies,
    calls: () => calls,
    close: () => server.shutdown(),
  };
}

Deno.test("webhook: retried with backoff until delivered, the outcome recorded and counted", async () => {
  const hook = webhook(2);
  const recorded: IncidentDelivery[] = [];
  const outcomes: string[] = [];
  const n = new WebhookNotifier({
    url: hook.url,
    log,
    initialDelayMs: 10,
    record: (_p, d) => Promise.resolve(void recorded.push(d)),
    onOutcome: (o) => outcomes.push(o),
  });
  try {
    const p = payload();
    n.enqueue(p);
    await n.stop(10_000);
    assert.equal(hook.calls(), 3, "two failures, then delivered");
    assert.deepEqual(hook.bodies, [JSON.parse(JSON.stringify(p))], "the same JSON as on the topic");
    const body = hook.bodies[0] as { version: string; status: string; groupKey: string; alerts: unknown[] };
    assert.equal(body.version, "4");
    assert.equal(body.status, "firing");
    assert.equal(body.groupKey, "sensor_0001|1000");
    assert.equal(body.alerts.length, 1);
    assert.deepEqual(outcomes, ["delivered"]);
    assert.equal(recorded[0].state, "delivered");
    assert.equal(recorded[0].attempts, 3);
    assert.equal(recorded[0].event, "opened");
  } finally {
    await hook.close();
  }
});

Deno.test("webhook: bounded attempts (failed), a bounded queue (dropped), and a bounded stop", async () => {
  const hook = webhook(Infinity);
  const recorded: IncidentDelivery[] = [];
  const n = new WebhookNotifier({
    url: hook.url,
    log,
    maxAttempts: 3,
    maxQueue: 2,
    initialDelayMs: 5,
    record: (_p, d) => Promise.resolve(void recorded.push(d)),
  });
  try {
    for (const id of ["sensor_0001", "sensor_0002", "sensor_0003", "sensor_0004"]) n.enqueue(payload(id));
    await n.stop(10_000);
    assert.equal(n.counts.failed + n.counts.dropped + n.counts.delivered, 4, "every announcement has one outcome");
    assert.equal(n.counts.delivered, 0);
    assert.ok(n.counts.dropped >= 1, "the queue holds at most 2");
    assert.ok(recorded.filter((d) => d.state === "failed").every((d) => d.attempts === 3 && /503/.test(d.error!)));
  } finally {
    await hook.close();
  }
});
