/**
 * The monitoring files as a contract, without services: Prometheus's own
 * `promtool` accepts the compose config and the rules, the dashboard is
 * well-formed and uses the provisioned data source, and the JMX exporter agent
 * has one version everywhere. (Its metric names are checked against live
 * programs in `prometheus_test.ts`.)
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { VERSIONS } from "../../dev/jars.ts";
import { dashboardQueries, metricNames, ruleFileRules } from "./promql.ts";

const root = new URL("../../", import.meta.url);
const read = (path: string) => Deno.readTextFile(new URL(path, root));
// deno-lint-ignore no-explicit-any
type Json = any;

async function promtool(...args: string[]): Promise<string> {
  const out = await new Deno.Command("promtool", { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `promtool ${args.join(" ")}:\n${text}`);
  return text;
}

Deno.test("promtool accepts the rules and the compose Prometheus config", async () => {
  assert.match(await promtool("check", "rules", new URL("monitoring/prometheus/rules.yml", root).pathname), /SUCCESS/);
  // The compose config names its rule file by its path in the container: check a copy pointing at ours.
  const dir = await Deno.makeTempDir({ prefix: "iot-promtool-" });
  try {
    const config = parse(await read("monitoring/prometheus/prometheus.yml"));
    assert.deepEqual(config.rule_files, ["/etc/prometheus/rules.yml"]);
    config.rule_files = [new URL("monitoring/prometheus/rules.yml", root).pathname];
    await Deno.writeTextFile(`${dir}/prometheus.yml`, JSON.stringify(config));
    assert.match(await promtool("check", "config", `${dir}/prometheus.yml`), /is valid prometheus config/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the rules record what alerts use, and alert with a severity and a summary", async () => {
  const rules = ruleFileRules(await read("monitoring/prometheus/rules.yml"));
  const recorded = new Set(rules.filter((r) => r.kind === "record").map((r) => r.name));
  assert.ok(recorded.size >= 5 && rules.length - recorded.size >= 5, "recording and alerting rules");
  for (const r of rules) {
    for (const n of metricNames(r.expr)) {
      if (n.includes(":")) assert.ok(recorded.has(n), `${r.name} uses ${n}, which a rule records`);
    }
  }
  const doc = parse(await read("monitoring/prometheus/rules.yml"));
  for (const rule of doc.groups.flatMap((g: Json) => g.rules).filter((r: Json) => r.alert)) {
    assert.match(rule.labels?.severity ?? "", /^(warning|critical)$/, `${rule.alert} severity`);
    assert.ok(rule.annotations?.summary, `${rule.alert} summary`);
  }
});

Deno.test("the dashboard is well-formed and every query uses the provisioned data source", async () => {
  const dashboard = JSON.parse(await read("monitoring/grafana/dashboards/pipeline.json"));
  const datasources = parse(await read("monitoring/grafana/provisioning/datasources/prometheus.yml")).datasources;
  assert.equal(datasources.length, 1);
  const uid = datasources[0].uid;
  assert.equal(datasources[0].type, "prometheus");
  assert.equal(dashboard.uid, "iot-pipeline");
  const panels: Json[] = dashboard.panels;
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
  for (const p of panels) {
    assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the 24-column grid`);
    if (p.type === "row") continue;
    assert.equal(p.datasource?.uid, uid, `${p.title} uses the provisioned data source`);
    assert.ok(p.targets?.length > 0, `${p.title} has queries`);
    for (const t of p.targets) {
      assert.equal(t.datasource?.uid ?? uid, uid, `${p.title} ${t.refId}`);
      assert.ok(t.expr?.trim(), `${p.title} ${t.refId} has an expression`);
    }
  }
  // What the issue asks the dashboard to show.
  const all = dashboardQueries(dashboard).map((q) => q.expr).join("\n");
  for (
    const metric of [
      "producer_messages_acked_total",
      "processor_consumed_total",
      "kafka_server_brokertopicmetrics_messagesinpersec_total",
      "processor_consumer_lag",
      "processor_stage_seconds",
      "processor_dead_letters_total",
      "processor_open_alerts",
      "ALERTS",
      "processor_e2e_lag_ms",
      "producer_batch_latency_seconds_bucket",
      "checker_checks_total",
      "checker_response_seconds_bucket",
      "processor_website_checks_total",
      "processor_website_alerts_total",
    ]
  ) {
    assert.ok(all.includes(metric), `the dashboard shows ${metric}`);
  }
  const dashboards = parse(await read("monitoring/grafana/provisioning/dashboards/pipeline.yml")).providers;
  assert.equal(dashboards[0].options.path, "/var/lib/grafana/dashboards");
});

Deno.test("the JMX exporter agent has one version for the local broker and compose", async () => {
  const pom = await read("dev/jmx/pom.xml");
  const m = /<artifactId>jmx_prometheus_javaagent<\/artifactId>\s*<version>([^<]+)<\/version>/.exec(pom);
  assert.equal(m?.[1], VERSIONS.jmx);
  const compose = parse(await read("docker-compose.yml"), { merge: true });
  assert.ok(compose.services["kafka-jmx-agent"].volumes.includes("./dev/jmx/pom.xml:/pom/pom.xml:ro"));
  const rules = parse(await read("monitoring/jmx/kafka.yml"));
  assert.equal(rules.lowercaseOutputName, true);
  assert.ok(rules.rules.length >= 10);
  for (const r of rules.rules) {
    new RegExp(r.pattern); // each pattern is a valid regular expression
    assert.match(r.name, /^kafka_[a-z0-9_$]+$/, r.pattern);
  }
});
