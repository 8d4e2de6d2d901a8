/** Headline tiles, refreshed from heartbeats over the WebSocket and a periodic HTTP refresh. */
import type { VNode } from "preact";
import { useEffect, useState } from "preact/hooks";
import { alerts, startLive, stats } from "../client/live.ts";
import type { Tiles } from "../data.ts";
import { fmt } from "../lib/windows.ts";

/** Props of `LiveTiles`. */
export interface LiveTilesProps {
  tiles: Tiles;
  type?: string;
  location?: string;
}

/** The five headline tiles. */
export default function LiveTiles(props: LiveTilesProps): VNode {
  const [tiles, setTiles] = useState(props.tiles);
  useEffect(() => {
    startLive({ types: props.type ? [props.type] : [], locations: props.location ? [props.location] : [] });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const refresh = async () => {
      const q = new URLSearchParams();
      if (props.type) q.set("type", props.type);
      if (props.location) q.set("location", props.location);
      try {
        const r = await fetch(`/api/tiles?${q}`);
        if (r.ok) setTiles((await r.json()).tiles);
      } catch { /* offline: keep the last numbers */ }
    };
    const schedule = () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, 1000);
    };
    const interval = setInterval(refresh, 10_000);
    const unsubscribe = [alerts.subscribe(schedule), stats.subscribe(schedule)];
    return () => {
      clearInterval(interval);
      clearTimeout(timer);
      unsubscribe.forEach((u) => u());
    };
  }, []);
  const items = [
    { key: "rate", label: "Messages/s in", value: fmt(tiles.rateIn, 0), unit: "" },
    { key: "stored", label: "Readings stored", value: fmt(tiles.readingsStored, 0), unit: "" },
    { key: "open", label: "Open alerts", value: fmt(tiles.openAlerts, 0), unit: "" },
    { key: "silent", label: "Sensors silent", value: fmt(tiles.silentSensors, 0), unit: "" },
    {
      key: "lag",
      label: "End-to-end lag",
      value: fmt(tiles.e2eLagMs, 0),
      unit: tiles.e2eLagMs === undefined ? "" : "ms",
    },
  ];
  return (
    <section class="tiles">
      {items.map((t) => (
        <div key={t.key} class="tile" data-tile={t.key}>
          <div class="label">{t.label}</div>
          <div class="value">
            {t.value}
            {t.unit && <span class="unit">{t.unit}</span>}
          </div>
        </div>
      ))}
    </section>
  );
}
