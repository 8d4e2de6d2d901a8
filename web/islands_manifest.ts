/**
 * The islands of `web/islands/` (like Fresh's generated manifest): every
 * module here is registered, so that pages render it with a hydration marker.
 * A test checks this list against the folder.
 */
import { registerIsland } from "./islands_runtime/server.ts";
import AlertFeed from "./islands/AlertFeed.tsx";
import AlertTable from "./islands/AlertTable.tsx";
import LiveStatus from "./islands/LiveStatus.tsx";
import LiveTiles from "./islands/LiveTiles.tsx";
import LocationGrid from "./islands/LocationGrid.tsx";
import PipelineLive from "./islands/PipelineLive.tsx";
import SensorLive from "./islands/SensorLive.tsx";
import WebsitesLive from "./islands/WebsitesLive.tsx";
import WindowCharts from "./islands/WindowCharts.tsx";

/** Island name → component. */
export const ISLANDS = {
  AlertFeed,
  AlertTable,
  LiveStatus,
  LiveTiles,
  LocationGrid,
  PipelineLive,
  SensorLive,
  WebsitesLive,
  WindowCharts,
} as const;

for (const [name, component] of Object.entries(ISLANDS)) registerIsland(name, component);
