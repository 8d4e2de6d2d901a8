/** The generated scrape config, and a real Prometheus scraping a small /metrics page. */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { ServiceStartError } from "@iot/shared";
import { exists } from "./paths.ts";
import { LocalPrometheus, pipelineJobs, prometheusConfig, RULES_FILE } from "./prometheus.ts";
import { waitFor } from "./testing.ts";

Deno.test("prometheusConfig scrapes each job at the interval and loads the rule files", () => {
  const config = parse(prometheusConfig({
    jobs: [{ job: "processor", targets: ["127.0.0.1:9101", "127.0.0.1:9102"] }, { job: "web", targets: ["h:8000"] }],
    intervalSeconds: 1,
    ruleFiles: ["/x/rules.yml"],
  }));
  assert.deepEqual(config.global, { scrape_interval: "1s", evaluation_interval: "1s", scrape_timeout: "1s" });
  assert.deepEqual(config.rule_files, ["/x/rules.yml"]);
  assert.deepEqual(config.scrape_configs, [
    {
      job_name: "processor",
      metrics_path: "/metrics",
      static_configs: [{ targets: ["127.0.0.1:9101", "127.0.0.1:9102"] }],
    },
    { job_name: "web", metrics_path: "/metrics", static_configs: [{ targets: ["h:8000"] }] },
  ]);
  assert.throws(() => prometheusConfig({ jobs: [{ job: "bad job", targets: [] }] }), /"bad job" is not valid/);
});

Deno.test("pipelineJobs names one job per program that serves metrics", () => {
  const jobs = pipelineJobs({ processors: [9101, 9102], web: 8000, producer: 9103, checker: 9104, kafka: 9404 });
  assert.deepEqual(jobs.map((j) => [j.job, j.targets]), [
    ["processor", ["127.0.0.1:9101", "127.0.0.1:9102"]],
    ["web", ["127.0.0.1:8000"]],
    ["producer", ["127.0.0.1:9103"]],
    ["checker", ["127.0.0.1:9104"]],
    ["kafka", ["127.0.0.1:9404"]],
  ]);
  assert.deepEqual(pipelineJobs({ processors: [1], web: 2 }).map((j) => j.job), ["processor", "web"]);
});

Deno.test("a missing Prometheus binary is a clear start error", async () => {
  const p = new LocalPrometheus({ jobs: [], binary: "/nonexistent/prometheus" });
  await assert.rejects(
    p.start(),
    (e) => e instanceof ServiceStartError && /apt-get install -y prometheus/.test(e.message),
  );
  await p.dispose();
});

Deno.test("LocalPrometheus scrapes a /metrics page, loads the pipeline's rules and stops", async () => {
  let hits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    hits++;
    return new Response(`# TYPE demo_total counter\ndemo_total ${hits}\n`);
  });
  const target = `127.0.0.1:${server.addr.port}`;
  const prometheus = new LocalPrometheus({
    jobs: [{ job: "demo", targets: [target] }],
    intervalSeconds: 1,
    ruleFiles: [RULES_FILE],
  });
  try {
    await prometheus.start();
    assert.ok(prometheus.running);
    const query = async (q: string) => {
      const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(q)}`);
      return (await res.json()).data.result;
    };
    const result = await waitFor(async () => {
      const r = await query("demo_total > 1");
      return r.length ? r : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250, what: "two scrapes of the demo target" });
    assert.equal(result[0].metric.instance, target);
    assert.equal(result[0].metric.job, "demo");
    const rules = await (await fetch(`${prometheus.url}/api/v1/rules`)).json();
    assert.ok(rules.data.groups.some((g: { name: string }) => g.name === "pipeline-alerts"), "rules loaded");
  } finally {
    const killed = await prometheus.dispose();
    await server.shutdown();
    assert.equal(killed, false, "stopped on SIGTERM");
    assert.equal(prometheus.running, false);
    assert.equal(await exists(prometheus.dir), false, "its directory is removed");
  }
});
