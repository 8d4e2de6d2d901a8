/** Alerts: open and recent alerts, filter by severity and state, acknowledge. */
import type { VNode } from "preact";
import { Layout } from "../components/Layout.tsx";
import { parseParams } from "./params.ts";
import AlertTable from "../islands/AlertTable.tsx";
import type { RouteContext } from "./context.ts";

/** Query parameters of the alerts page. */
export const PARAMS = {
  severity: { type: "enum", values: ["warning", "critical"] },
  state: { type: "enum", values: ["firing", "resolved"] },
} as const;

const LIMIT = 200;

/** The alerts page. */
export default async function AlertsPage(ctx: RouteContext): Promise<VNode> {
  const p = parseParams(ctx.query, PARAMS);
  const list = await ctx.data.alerts({
    severity: p.severity as "warning" | "critical" | undefined,
    state: p.state as "firing" | "resolved" | undefined,
    limit: LIMIT,
  });
  return (
    <Layout title="Alerts" path="/alerts">
      <h1>Alerts</h1>
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
        <button type="submit">Apply</button>
      </form>
      <AlertTable
        alerts={list}
        severity={p.severity}
        state={p.state}
        authRequired={ctx.authRequired}
        limit={LIMIT}
      />
    </Layout>
  );
}
