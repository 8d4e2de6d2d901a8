/**
 * What the monitoring contract tests need to read: the metric names a PromQL
 * expression selects, the names a Prometheus text page exports, and the
 * queries of a Grafana dashboard and of a Prometheus rule file.
 */
import { parse } from "yaml";

/** Words of PromQL that look like metric names but are not. */
const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
  "inf",
  "nan",
]);

/** The metric names an expression selects (sorted), ignoring functions, labels, durations and Grafana variables. */
export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // strings
    .replace(/\{[^}]*\}/g, " ") // label matchers
    .replace(/\[[^\]]*\]/g, " ") // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ") // label lists
    .replace(/\$\{?\w+\}?/g, " "); // Grafana variables
  const names = new Set<string>();
  for (const m of s.matchAll(/(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2] || KEYWORDS.has(m[1].toLowerCase())) continue;
    names.add(m[1]);
  }
  return [...names].sort();
}

/** The names of every sample on a Prometheus text-format page (`/metrics`). */
export function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (m) names.add(m[1]);
  }
  return names;
}

/**
 * The sum of the samples named `name` on a Prometheus text-format page whose labels include `labels`
 * (undefined when there is none).
 */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

/** One query of a dashboard panel. */
export interface PanelQuery {
  panel: string;
  expr: string;
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** Every Prometheus query of a Grafana dashboard (panels, panels nested in rows, template variables). */
export function dashboardQueries(dashboard: Json): PanelQuery[] {
  const out: PanelQuery[] = [];
  const visit = (panels: Json[] = []) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title, expr: t.expr });
      visit(p.panels);
    }
  };
  visit(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    const q = typeof v.query === "string" ? v.query : v.query?.query;
    if (v.type === "query" && q) out.push({ panel: `variable ${v.name}`, expr: q });
  }
  return out;
}

/** A rule of a Prometheus rule file. */
export interface Rule {
  /** The recorded series or the alert's name. */
  name: string;
  kind: "record" | "alert";
  expr: string;
}

/** The rules of a Prometheus rule file (YAML text). */
export function ruleFileRules(yaml: string): Rule[] {
  const doc = parse(yaml) as { groups: { rules: { record?: string; alert?: string; expr: string }[] }[] };
  return doc.groups.flatMap((g) =>
    g.rules.map((r): Rule =>
      r.record ? { name: r.record, kind: "record", expr: String(r.expr) } : {
        name: r.alert!,
        kind: "alert",
        expr: String(r.expr),
      }
    )
  );
}
