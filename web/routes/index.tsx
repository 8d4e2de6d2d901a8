/** Overview: tiles, live charts, location × type grid and the alert feed, filtered by type and location. */
import type { VNode } from "preact";
import { FilterForm } from "../components/Filters.tsx";
import { Layout } from "../components/Layout.tsx";
import { FILTER_PARAMS, parseParams } from "./params.ts";
import AlertFeed from "../islands/AlertFeed.tsx";
import LiveTiles from "../islands/LiveTiles.tsx";
import LocationGrid from "../islands/LocationGrid.tsx";
import WindowCharts from "../islands/WindowCharts.tsx";
import type { RouteContext } from "./context.ts";
import { latestByGroup, seriesByType } from "../lib/windows.ts";

const RECENT_MS = 60_000;

/** Query parameters of the overview. */
export const PARAMS = FILTER_PARAMS;

/** The overview page. */
export default async function OverviewPage(ctx: RouteContext): Promise<VNode> {
  const f = parseParams(ctx.query, PARAMS);
  const o = await ctx.data.overview(f);
  // Windows of the last minute go to the browser as they are (they may still change);
  // older ones only as per-type points, which keeps the first paint small.
  const newest = o.windows.reduce((m, w) => Math.max(m, w.start), 0);
  const recent = o.windows.filter((w) => w.start > newest - RECENT_MS);
  const history = Object.fromEntries(seriesByType(o.windows.filter((w) => w.start <= newest - RECENT_MS)));
  return (
    <Layout title="Overview" path="/">
      <h1>Overview</h1>
      <FilterForm
        action="/"
        types={o.vocabulary.types.map((t) => t.type)}
        locations={o.vocabulary.locations}
        type={f.type}
        location={f.location}
      />
      <LiveTiles tiles={o.tiles} type={f.type} location={f.location} />
      <h2>10 s windows per type (average, min–max band)</h2>
      <WindowCharts
        windows={recent}
        history={history}
        types={o.vocabulary.types}
        now={o.now}
        type={f.type}
        location={f.location}
      />
      <div class="cols">
        <div>
          <h2>Latest average by location</h2>
          <LocationGrid
            windows={[...latestByGroup(o.windows).values()]}
            types={o.vocabulary.types}
            locations={o.vocabulary.locations}
            type={f.type}
            location={f.location}
          />
        </div>
        <div>
          <h2>
            Alerts <a href="/alerts">all</a>
          </h2>
          <AlertFeed alerts={o.alerts} type={f.type} location={f.location} />
        </div>
      </div>
    </Layout>
  );
}
