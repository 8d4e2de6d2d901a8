/**
 * Live line charts of the 10 s windows per sensor type: average with the min–max band (Chart.js).
 * One chart per type discovered in the data or arriving live; described types are scaled to their
 * normal band, others automatically.
 */
import type { VNode } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { Chart } from "chart.js/auto";
import type { SensorTypeDescription } from "../../shared/sensor_types.ts";
import { addWindows, IS_BROWSER, seenUpTo, startLive, timeOfDay, windows } from "../client/live.ts";
import type { WireWindow } from "../lib/wire.ts";
import { fmt, seriesByType, type SeriesPoint } from "../lib/windows.ts";
import { chartScale, namesToShow, typeColor, typeInfo } from "../lib/vocabulary.ts";

/** Props of `WindowCharts`. */
export interface WindowChartsProps {
  /** Recent windows per type/location (these may still change and arrive live). */
  windows: WireWindow[];
  /** Older points per type, already combined on the server (keeps the page small). */
  history: Record<string, SeriesPoint[]>;
  /** The types discovered in the data, with what is known of each. */
  types: SensorTypeDescription[];
  now: number;
  type?: string;
  location?: string;
}

let seeded = false;

function TypeChart(props: { info: SensorTypeDescription; points: SeriesPoint[] }): VNode {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | null>(null);
  const type = props.info.type;
  const color = typeColor(type);
  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: "line",
      data: { labels: [], datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: false }, tooltip: { mode: "index", intersect: false } },
        scales: {
          x: { ticks: { color: "#8a98a8", maxTicksLimit: 6 }, grid: { color: "#24303c" } },
          y: { ticks: { color: "#8a98a8" }, grid: { color: "#24303c" }, ...chartScale(props.info) },
        },
        elements: { point: { radius: 0 } },
      },
    });
    return () => chart.current?.destroy();
  }, []);
  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = props.points.map((p) => timeOfDay(p.start));
    c.data.datasets = [
      { label: "min", data: props.points.map((p) => p.min), borderWidth: 0, fill: false },
      {
        label: "max",
        data: props.points.map((p) => p.max),
        borderWidth: 0,
        fill: "-1",
        backgroundColor: color + "33",
      },
      { label: "avg", data: props.points.map((p) => p.avg), borderColor: color, borderWidth: 2, fill: false },
    ];
    c.update("none");
    canvas.current?.setAttribute("data-points", String(props.points.length));
  }, [props.points]);
  const last = props.points[props.points.length - 1];
  const unit = props.info.unit ? ` ${props.info.unit}` : "";
  return (
    <figure class="chart" data-type={type} data-described={String(props.info.band !== undefined)}>
      <figcaption>
        <span>{type}</span>
        <span class="latest" data-latest={type}>
          {last ? `${fmt(last.avg)}${unit} (${fmt(last.min)}–${fmt(last.max)})` : "no data"}
        </span>
      </figcaption>
      <div class="canvas">
        <canvas ref={canvas} aria-label={`${type} 10 s windows`} />
      </div>
    </figure>
  );
}

const SPAN_MS = 10 * 60_000;

/** Adds the server-combined older points for window starts the live windows do not cover. */
function mergeHistory(
  live: Map<string, SeriesPoint[]>,
  history: Record<string, SeriesPoint[]>,
): Map<string, SeriesPoint[]> {
  const out = new Map<string, SeriesPoint[]>();
  for (const type of new Set([...live.keys(), ...Object.keys(history)])) {
    const points = live.get(type) ?? [];
    const covered = new Set(points.map((p) => p.start));
    const merged = [...(history[type] ?? []).filter((p) => !covered.has(p.start)), ...points]
      .sort((a, b) => a.start - b.start);
    const newest = merged.at(-1)?.start ?? 0;
    out.set(type, merged.filter((p) => p.start > newest - SPAN_MS));
  }
  return out;
}

/** The charts, one per sensor type (the filtered one, or every type discovered or seen live). */
export default function WindowCharts(props: WindowChartsProps): VNode {
  if (IS_BROWSER && !seeded) {
    seeded = true;
    addWindows(props.windows);
    seenUpTo(props.now);
  }
  useEffect(() => {
    startLive({ types: props.type ? [props.type] : [], locations: props.location ? [props.location] : [] });
  }, []);
  const list = (IS_BROWSER ? [...windows.value.values()] : props.windows).filter((w) =>
    w.kind === "type_location" && w.size_s === 10 && (!props.type || w.sensor_type === props.type) &&
    (!props.location || w.location === props.location)
  );
  const series = mergeHistory(seriesByType(list), props.history);
  const types = namesToShow(props.types.map((t) => t.type), series.keys(), props.type);
  return (
    <section class="charts" data-testid="charts">
      {types.length === 0 && <p class="empty">No windows in the last hour.</p>}
      {types.map((t) => <TypeChart key={t} info={typeInfo(props.types, t)} points={series.get(t) ?? []} />)}
    </section>
  );
}
