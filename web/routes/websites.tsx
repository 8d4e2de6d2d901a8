/** Websites: uptime monitoring of HTTP targets, live. */
import type { VNode } from "preact";
import { Layout } from "../components/Layout.tsx";
import { parseParams } from "./params.ts";
import WebsitesLive from "../islands/WebsitesLive.tsx";
import type { RouteContext } from "./context.ts";
import { loadWebsites } from "./api/websites.ts";

/** The websites page. */
export default async function WebsitesPage(ctx: RouteContext): Promise<VNode> {
  parseParams(ctx.query, {});
  const { sites, alerts } = await loadWebsites(ctx, { periodStart: new Date(Date.now() - 3600_000), limit: 50 });
  return (
    <Layout title="Websites" path="/websites">
      <h1>Websites</h1>
      <WebsitesLive sites={sites} alerts={alerts} now={Date.now()} />
    </Layout>
  );
}
