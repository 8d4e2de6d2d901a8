/** Location × type grid of the latest 10 s averages, coloured by position in the normal band. */
import type { VNode } from "preact";
import { LOCATIONS, SENSOR_RANGES, SENSOR_TYPES, type SensorType } from "../../shared/sensors.ts";
import { addWindows, IS_BROWSER, windows } from "../client/live.ts";
import type { WireWindow } from "../lib/wire.ts";
import { fmt, heatLevel, latestByGroup } from "../lib/windows.ts";

/** Props of `LocationGrid`. */
export interface LocationGridProps {
  windows: WireWindow[];
  type?: string;
  location?: string;
}

let seeded = false;

/** The grid. */
export default function LocationGrid(props: LocationGridProps): VNode {
  if (IS_BROWSER && !seeded) {
    seeded = true;
    addWindows(props.windows);
  }
  const list = (IS_BROWSER ? [...windows.value.values()] : props.windows).filter((w) =>
    w.kind === "type_location" && w.size_s === 10
  );
  const latest = latestByGroup(list);
  const types = props.type ? [props.type as SensorType] : [...SENSOR_TYPES];
  const locations = props.location ? [props.location] : [...LOCATIONS];
  return (
    <table class="grid" data-testid="grid">
      <thead>
        <tr>
          <th>location \ type</th>
          {types.map((t) => <th key={t}>{t} ({SENSOR_RANGES[t].unit})</th>)}
        </tr>
      </thead>
      <tbody>
        {locations.map((l) => (
          <tr key={l}>
            <th>{l}</th>
            {types.map((t) => {
              const r = SENSOR_RANGES[t];
              const w = latest.get(`${t}/${l}`);
              return w
                ? (
                  <td key={t} class={`heat-${heatLevel(w.avg, r.normalMin, r.normalMax)}`} data-cell={`${t}/${l}`}>
                    {fmt(w.avg, 1)}
                  </td>
                )
                : <td key={t} class="empty" data-cell={`${t}/${l}`}>–</td>;
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
