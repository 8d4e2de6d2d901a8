/** Websites: uptime monitoring of HTTP targets, live. */
import type { VNode } from "preact";
import { Layout } from "../components/Layout.tsx";
import { parseParams } from "../api/params.ts";
import WebsitesLive from "../islands/WebsitesLive.tsx";
import { WebsiteData } from "../website_data.ts";
import type { RouteContext } from "./context.ts";

/** The websites page. */
export default async function WebsitesPage(ctx: RouteContext): Promise<VNode> {
  parseParams(ctx.query, {});
  const data = new WebsiteData(ctx.data.db);
  const [sites, alerts] = await Promise.all([data.sites(), data.alerts({ limit: 50 })]);
  return (
    <Layout title="Websites" path="/websites">
      <h1>Websites</h1>
      <WebsitesLive sites={sites} alerts={alerts} now={Date.now()} />
    </Layout>
  );
}
