/** The readers of the monitoring contract tests, on small samples. */
import assert from "node:assert/strict";
import { dashboardQueries, exportedNames, metricNames, ruleFileRules, sampleValue } from "./promql.ts";

Deno.test("metricNames finds selected metrics, not functions, labels, durations or keywords", () => {
  assert.deepEqual(metricNames("rate(processor_consumed_total[1m])"), ["processor_consumed_total"]);
  assert.deepEqual(
    metricNames('histogram_quantile(0.99, sum by (le) (rate(processor_batch_seconds_bucket{job="processor"}[5m])))'),
    ["processor_batch_seconds_bucket"],
  );
  assert.deepEqual(
    metricNames("sum without (instance) (a_total) / on (job) group_left (x) b offset 5m > bool 1e3"),
    ["a_total", "b"],
  );
  assert.deepEqual(metricNames('count(ALERTS{alertstate="firing"}) or vector(0)'), ["ALERTS"]);
  assert.deepEqual(metricNames("pipeline:processor_consumed:rate1m == 0 and up"), [
    "pipeline:processor_consumed:rate1m",
    "up",
  ]);
  assert.deepEqual(metricNames("rate(x_total[$__rate_interval]) * ${factor}"), ["x_total"]);
  assert.deepEqual(metricNames('label_replace(y, "a", "$1", "b", "(.*)")'), ["y"]);
});

Deno.test("exportedNames reads sample names of a text page, histograms included", () => {
  const text = [
    "# HELP h Time",
    "# TYPE h histogram",
    'h_bucket{le="0.1"} 1',
    "h_sum 0.05",
    "h_count 1",
    "# TYPE g gauge",
    'c_total{reason="x"} 2',
    "",
  ].join("\n");
  assert.deepEqual([...exportedNames(text)].sort(), ["c_total", "h_bucket", "h_count", "h_sum"]);
});

Deno.test("dashboardQueries reads panels, rows' panels and query variables", () => {
  const d = {
    panels: [
      { title: "A", targets: [{ expr: "a" }, { expr: "b" }] },
      { title: "Row", type: "row", panels: [{ title: "C", targets: [{ expr: "c" }] }] },
      { title: "Text", type: "text" },
    ],
    templating: { list: [{ type: "query", name: "job", query: { query: "label_values(up, job)" } }] },
  };
  assert.deepEqual(dashboardQueries(d), [
    { panel: "A", expr: "a" },
    { panel: "A", expr: "b" },
    { panel: "C", expr: "c" },
    { panel: "variable job", expr: "label_values(up, job)" },
  ]);
});

Deno.test("ruleFileRules reads recording and alerting rules", () => {
  const yaml = "groups:\n  - name: g\n    rules:\n      - record: r:x\n        expr: sum(x)\n" +
    "      - alert: A\n        expr: r:x > 1\n";
  assert.deepEqual(ruleFileRules(yaml), [
    { name: "r:x", kind: "record", expr: "sum(x)" },
    { name: "A", kind: "alert", expr: "r:x > 1" },
  ]);
});

Deno.test("sampleValue sums the samples of a name whose labels include the given ones", () => {
  const page = [
    "# HELP c_total x",
    "# TYPE c_total counter",
    'c_total{result="up",url="http://a/x"} 3',
    'c_total{result="down",url="http://a/x"} 2',
    'c_total{result="up",url="http://b/\\"q\\""} 4',
    "g 1.5",
  ].join("\n");
  assert.equal(sampleValue(page, "c_total"), 9);
  assert.equal(sampleValue(page, "c_total", { result: "up" }), 7);
  assert.equal(sampleValue(page, "c_total", { url: "http://a/x", result: "down" }), 2);
  assert.equal(sampleValue(page, "g"), 1.5);
  assert.equal(sampleValue(page, "c_total", { result: "gone" }), undefined);
  assert.equal(sampleValue(page, "missing"), undefined);
});
