/**
 * Location × type grid of the latest 10 s averages, coloured by position in the normal band
 * (for types without one, by position among the type's values shown). Rows and columns are the
 * locations and types discovered in the data, plus any arriving live.
 */
import type { VNode } from "preact";
import type { SensorTypeDescription } from "../../shared/sensor_types.ts";
import { addWindows, IS_BROWSER, windows } from "../client/live.ts";
import type { WireWindow } from "../lib/wire.ts";
import { fmt, latestByGroup } from "../lib/windows.ts";
import { heatFor, namesIn, namesToShow, typeInfo } from "../lib/vocabulary.ts";

/** Props of `LocationGrid`. */
export interface LocationGridProps {
  windows: WireWindow[];
  /** The types discovered in the data, with what is known of each. */
  types: SensorTypeDescription[];
  /** The locations discovered in the data. */
  locations: string[];
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
  const seen = namesIn(latest.values());
  const types = namesToShow(props.types.map((t) => t.type), seen.types, props.type)
    .map((t) => typeInfo(props.types, t));
  const locations = namesToShow(props.locations, seen.locations, props.location);
  const observed = new Map<string, { min: number; max: number }>();
  for (const w of latest.values()) {
    if (!locations.includes(w.location)) continue;
    const o = observed.get(w.sensor_type);
    observed.set(w.sensor_type, { min: Math.min(o?.min ?? w.avg, w.avg), max: Math.max(o?.max ?? w.avg, w.avg) });
  }
  return (
    <table class="grid" data-testid="grid">
      <thead>
        <tr>
          <th>location \ type</th>
          {types.map((t) => <th key={t.type}>{t.type}{t.unit ? ` (${t.unit})` : ""}</th>)}
        </tr>
      </thead>
      <tbody>
        {locations.map((l) => (
          <tr key={l}>
            <th>{l}</th>
            {types.map((info) => {
              const t = info.type;
              const w = latest.get(`${t}/${l}`);
              const o = observed.get(t) ?? { min: 0, max: 0 };
              return w
                ? (
                  <td key={t} class={`heat-${heatFor(info, w.avg, o)}`} data-cell={`${t}/${l}`}>
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
