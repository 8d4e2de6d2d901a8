/**
 * Alerts: open and recent incidents, filtered by severity, state, location,
 * type and rule, grouped by location, type or rule with counts; acknowledge
 * and silence; the silences in effect.
 */
import type { VNode } from "preact";
import { Layout } from "../components/Layout.tsx";
import { INCIDENT_RULES, parseParams } from "./params.ts";
import AlertTable from "../islands/AlertTable.tsx";
import type { RouteContext } from "./context.ts";

/** Query parameters of the alerts page. */
export const PARAMS = {
  severity: { type: "enum", values: ["warning", "critical"] },
  state: { type: "enum", values: ["firing", "resolved"] },
  location: { type: "location" },
  type: { type: "sensorType" },
  rule: { type: "enum", values: INCIDENT_RULES },
  group: { type: "enum", values: ["location", "type", "rule"] },
} as const;

const LIMIT = 200;

/** The alerts page. */
export default async function AlertsPage(ctx: RouteContext): Promise<VNode> {
  const p = parseParams(ctx.query, PARAMS);
  const [list, silences, vocabulary] = await Promise.all([
    ctx.data.alerts({
      severity: p.severity as "warning" | "critical" | undefined,
      state: p.state as "firing" | "resolved" | undefined,
      location: p.location,
      type: p.type,
      rule: p.rule,
      limit: LIMIT,
    }),
    ctx.data.silences(),
    ctx.data.vocabulary(),
  ]);
  const select = (name: string, label: string, values: readonly string[], current?: string) => (
    <label>
      {label}{" "}
      <select name={name}>
        <option value="">all</option>
        {values.map((v) => <option key={v} value={v} selected={v === current}>{v}</option>)}
      </select>
    </label>
  );
  return (
    <Layout title="Alerts" path="/alerts">
      <h1>Alerts</h1>
      <p class="meta">
        Incidents: one per sensor, opened when a condition persists, grouping every rule that fired. Single anomalous
        readings are events (on each sensor's page).
      </p>
      <form class="filters" method="get" action="/alerts">
        <label>
          Severity{" "}
          <select name="severity">
            <option value="">all</option>
            {PARAMS.severity.values.map((v) => <option key={v} value={v} selected={v === p.severity}>{v}</option>)}
          </select>
        </label>
        <label>
          State{" "}
          <select name="state">
            <option value="">all</option>
            {PARAMS.state.values.map((v) => <option key={v} value={v} selected={v === p.state}>{v}</option>)}
          </select>
        </label>
        {select("location", "Location", vocabulary.locations, p.location)}
        {select("type", "Type", vocabulary.types.map((t) => t.type), p.type)}
        {select("rule", "Rule", INCIDENT_RULES, p.rule)}
        {select("group", "Group by", PARAMS.group.values, p.group)}
        <button type="submit">Apply</button>
      </form>
      <AlertTable
        alerts={list}
        severity={p.severity}
        state={p.state}
        location={p.location}
        type={p.type}
        rule={p.rule}
        group={p.group as "location" | "type" | "rule" | undefined}
        silences={silences}
        authRequired={ctx.authRequired}
        limit={LIMIT}
      />
    </Layout>
  );
}
