/** One sensor: recent readings chart (anomaly events as markers), window stats, its incidents and events. */
import type { VNode } from "preact";
import { sensorProfile } from "@iot/shared";
import { Layout } from "../../components/Layout.tsx";
import { parseParams } from "../params.ts";
import { loadSensor, sensorIdParam } from "../api/sensors.ts";
import SensorLive from "../../islands/SensorLive.tsx";
import type { RouteContext } from "../context.ts";

/** The sensor page. */
export default async function SensorPage(ctx: RouteContext): Promise<VNode> {
  parseParams(ctx.query, {});
  const id = sensorIdParam(ctx);
  const profile = sensorProfile(id);
  const view = await loadSensor(ctx, id, { readings: 300, windows10: 12, windows60: 6 });
  return (
    <Layout title={id} path="/sensors">
      <h1>
        {id} <span class="badge">{profile.sensorType}</span> <span class="badge">{profile.location}</span>{" "}
        <span class="badge">{profile.model}</span>
      </h1>
      <SensorLive
        sensorId={id}
        unit={profile.unit}
        readings={view.readings}
        windows={view.windows}
        alerts={view.alerts}
        events={view.events}
      />
    </Layout>
  );
}
