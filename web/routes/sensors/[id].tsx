/** One sensor: recent readings chart, window stats, its alerts. */
import type { VNode } from "preact";
import { sensorProfile } from "@iot/shared";
import { Layout } from "../../components/Layout.tsx";
import { ParamError, parseParams, SENSOR_ID_RE } from "../../api/params.ts";
import SensorLive from "../../islands/SensorLive.tsx";
import type { RouteContext } from "../context.ts";

/** The sensor page. */
export default async function SensorPage(ctx: RouteContext): Promise<VNode> {
  parseParams(ctx.query, {});
  const id = ctx.params.id;
  if (!SENSOR_ID_RE.test(id)) throw new ParamError(`Sensor id must look like sensor_0001`);
  const profile = sensorProfile(id);
  const [readings, w10, w60, alerts] = await Promise.all([
    ctx.data.readings(id, 300),
    ctx.data.windows({ kind: "sensor", size: 10, sensor: id, limit: 12 }),
    ctx.data.windows({ kind: "sensor", size: 60, sensor: id, limit: 6 }),
    ctx.data.alerts({ sensor: id, limit: 50 }),
  ]);
  return (
    <Layout title={id} path="/sensors">
      <h1>
        {id} <span class="badge">{profile.sensorType}</span> <span class="badge">{profile.location}</span>{" "}
        <span class="badge">{profile.model}</span>
      </h1>
      <SensorLive sensorId={id} unit={profile.unit} readings={readings} windows={[...w10, ...w60]} alerts={alerts} />
    </Layout>
  );
}
