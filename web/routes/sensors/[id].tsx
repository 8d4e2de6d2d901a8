/** One sensor (any id of the reading contract): recent readings chart (anomaly events as markers), window stats, its incidents and events. */
import type { VNode } from "preact";
import { Layout } from "../../components/Layout.tsx";
import { parseParams } from "../params.ts";
import { loadSensor, sensorIdParam } from "../api/sensors.ts";
import SensorLive from "../../islands/SensorLive.tsx";
import type { RouteContext } from "../context.ts";

/** The sensor page. */
export default async function SensorPage(ctx: RouteContext): Promise<VNode> {
  parseParams(ctx.query, {});
  const id = sensorIdParam(ctx);
  const view = await loadSensor(ctx, id, { readings: 300, windows10: 12, windows60: 6 });
  const d = view.details;
  return (
    <Layout title={id} path="/sensors">
      <h1>
        {id} <span class="badge" data-testid="sensor-type">{d.sensor_type}</span>{" "}
        <span class="badge" data-testid="sensor-location">{d.location}</span>
        {d.model && (
          <>
            {" "}
            <span class="badge" data-testid="sensor-model">{d.model}</span>
          </>
        )}
      </h1>
      <SensorLive
        sensorId={id}
        unit={d.unit}
        readings={view.readings}
        windows={view.windows}
        alerts={view.alerts}
        events={view.events}
      />
    </Layout>
  );
}
