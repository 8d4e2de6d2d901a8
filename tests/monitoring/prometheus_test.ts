/**
 * `deno task up --prometheus` against a real Prometheus: every program and
 * Kafka's JMX exporter are scraped and `up`, the processor's consumption rate
 * is visible through the HTTP API, the rules load, and every metric the
 * Grafana dashboard and the rules name is one the running programs really
 * export (read from each target's live `/metrics`). Ctrl-C then stops it all.
 */
import assert from "node:assert/strict";
import { freePort } from "../../dev/process.ts";
import { isAlive, processTree, waitFor } from "../../dev/testing.ts";
import { dashboardQueries, exportedNames, metricNames, ruleFileRules } from "./promql.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const root = new URL("../../", import.meta.url);
/** Series Prometheus makes itself rather than scraping them. */
const PROMETHEUS_OWN = new Set(["up", "ALERTS"]);

// deno-lint-ignore no-explicit-any
type Json = any;

async function api(base: string, path: string, params: Record<string, string> = {}): Promise<Json> {
  const res = await fetch(`${base}/api/v1/${path}?${new URLSearchParams(params)}`, {
    signal: AbortSignal.timeout(5000),
  });
  const body = await res.json();
  assert.equal(body.status, "success", `${path} ${JSON.stringify(params)}: ${JSON.stringify(body)}`);
  return body.data;
}

Deno.test(
  "deno task up --prometheus: every target up, consumption rate visible, dashboard metrics real",
  opts,
  async (t) => {
    const ports = {
      web: freePort(),
      metrics: freePort(),
      kafka: freePort(),
      mongo: freePort(),
      prometheus: freePort(),
      kafkaMetrics: freePort(),
    };
    const env = { ...Deno.env.toObject() };
    for (const k of ["KAFKA_BROKERS", "MONGO_URL", "TEST_KAFKA_BROKERS"]) delete env[k];
    const args = [
      "run",
      "-A",
      "dev/up_main.ts",
      "--prometheus",
      "--scrape-interval",
      "1",
      "--rate",
      "300",
      "--sensors",
      "60",
      "--web-port",
      String(ports.web),
      "--metrics-port",
      String(ports.metrics),
      "--kafka-port",
      String(ports.kafka),
      "--mongo-port",
      String(ports.mongo),
      "--prometheus-port",
      String(ports.prometheus),
      "--kafka-metrics-port",
      String(ports.kafkaMetrics),
    ];
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: root.pathname,
      env: { ...env, IOT_MONGO_ENGINE: "java" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let output = "";
    const readers = [child.stdout, child.stderr].map(async (s) => {
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) output += chunk;
    });
    const prom = `http://127.0.0.1:${ports.prometheus}`;
    const withOutput = (e: Error) => {
      throw new Error(`${e.message}. Output so far:\n${output.slice(-3000)}`);
    };
    try {
      await waitFor(() => output.includes("Press Ctrl-C") || output.includes("all stopped"), {
        timeoutMs: 240_000,
        what: "the stack to be ready",
      }).catch(withOutput);
      assert.match(output, new RegExp(`Prometheus: ${prom}`));

      // deno-lint-ignore no-explicit-any
      let targets: any[] = [];
      await t.step("every target is up", async () => {
        await waitFor(async () => {
          targets = (await api(prom, "targets", { state: "active" })).activeTargets;
          return targets.length === 5 && targets.every((x) => x.health === "up");
        }, { timeoutMs: 60_000, intervalMs: 500, what: "every target up" }).catch((e) => {
          throw new Error(`${e.message}: ${JSON.stringify(targets.map((x) => [x.scrapeUrl, x.health, x.lastError]))}`);
        });
        assert.deepEqual(targets.map((x) => x.labels.job).sort(), ["checker", "kafka", "processor", "producer", "web"]);
        const up = await api(prom, "query", { query: "up" });
        assert.equal(up.result.length, 5);
        for (const r of up.result) assert.equal(r.value[1], "1", `up of ${r.metric.job}`);
      });

      await t.step("rate(processor_consumed_total[1m]) > 0", async () => {
        const result = await waitFor(async () => {
          const data = await api(prom, "query", { query: "rate(processor_consumed_total[1m]) > 0" });
          return data.result.length > 0 ? data.result : undefined;
        }, { timeoutMs: 90_000, intervalMs: 1000, what: "a positive consumption rate" });
        assert.equal(result[0].metric.job, "processor");
        assert.ok(Number(result[0].value[1]) > 0);
      });

      await t.step("the pipeline's rules load and evaluate without error", async () => {
        const rules = ruleFileRules(await Deno.readTextFile(new URL("monitoring/prometheus/rules.yml", root)));
        const loaded = await waitFor(async () => {
          const groups = (await api(prom, "rules")).groups as Json[];
          const all = groups.flatMap((g) => g.rules);
          return all.length === rules.length && all.every((r) => r.lastEvaluation !== "0001-01-01T00:00:00Z")
            ? all
            : undefined;
        }, { timeoutMs: 30_000, intervalMs: 500, what: "every rule evaluated" });
        assert.deepEqual(loaded.map((r: Json) => r.name).sort(), rules.map((r) => r.name).sort());
        for (const r of loaded) assert.equal(r.health, "ok", `${r.name}: ${r.lastError}`);
      });

      await t.step("every metric of the dashboard and the rules is exported by a running program", async () => {
        // The names each target really serves, read from its own /metrics.
        const exported = new Set<string>(PROMETHEUS_OWN);
        for (const target of targets) {
          const res = await fetch(target.scrapeUrl, { signal: AbortSignal.timeout(5000) });
          assert.equal(res.status, 200, target.scrapeUrl);
          const names = exportedNames(await res.text());
          assert.ok(names.size > 0, `${target.labels.job} exports metrics`);
          for (const n of names) exported.add(n);
        }
        const rules = ruleFileRules(await Deno.readTextFile(new URL("monitoring/prometheus/rules.yml", root)));
        const missing: string[] = [];
        for (const r of rules) {
          for (const n of metricNames(r.expr)) {
            if (!exported.has(n) && !rules.some((o) => o.kind === "record" && o.name === n)) {
              missing.push(`rule ${r.name}: ${n}`);
            }
          }
        }
        for (const r of rules) if (r.kind === "record") exported.add(r.name);
        const dashboard = JSON.parse(
          await Deno.readTextFile(new URL("monitoring/grafana/dashboards/pipeline.json", root)),
        );
        const queries = dashboardQueries(dashboard);
        assert.ok(queries.length >= 20, `the dashboard has queries (${queries.length})`);
        for (const q of queries) {
          const names = metricNames(q.expr);
          assert.ok(names.length > 0, `panel "${q.panel}" names a metric: ${q.expr}`);
          for (const n of names) if (!exported.has(n)) missing.push(`panel "${q.panel}": ${n}`);
          // Prometheus itself parses and evaluates each query.
          await api(prom, "query", { query: q.expr });
        }
        assert.deepEqual(missing, [], "metrics no program exports");
      });

      const procs = await processTree(child.pid);
      assert.ok([...procs.values()].includes("prometheus"), "Prometheus runs under deno task up");
      child.kill("SIGINT");
      const status = await child.status;
      await Promise.all(readers);
      assert.equal(status.code, 0, output.slice(-3000));
      assert.match(output, /all stopped$/m);
      const survivors = () => [...procs].filter(([pid]) => isAlive(pid)).map(([pid, comm]) => `${pid} ${comm}`);
      await waitFor(() => survivors().length === 0, { timeoutMs: 10_000, what: "every process to exit" }).catch(
        () => {},
      );
      assert.deepEqual(survivors(), [], "no process left running");
      await assert.rejects(fetch(`${prom}/-/ready`, { signal: AbortSignal.timeout(2000) }), "Prometheus stopped");
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
    }
  },
);
