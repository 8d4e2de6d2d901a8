/** Live line charts of the 10 s windows per sensor type: average with the min–max band (Chart.js). */
import type { VNode } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { Chart } from "chart.js/auto";
import { SENSOR_RANGES, SENSOR_TYPES, type SensorType } from "../../shared/sensors.ts";
import { addWindows, IS_BROWSER, seenUpTo, startLive, timeOfDay, windows } from "../client/live.ts";
import type { WireWindow } from "../lib/wire.ts";
import { fmt, seriesByType, type SeriesPoint } from "../lib/windows.ts";

/** Props of `WindowCharts`. */
export interface WindowChartsProps {
  /** Recent windows per type/location (these may still change and arrive live). */
  windows: WireWindow[];
  /** Older points per type, already combined on the server (keeps the page small). */
  history: Record<string, SeriesPoint[]>;
  now: number;
  type?: string;
  location?: string;
}

const COLORS: Record<string, string> = {
  temperature: "#ff7043",
  humidity: "#29b6f6",
  pressure: "#ab47bc",
  vibration: "#ffca28",
  voltage: "#66bb6a",
  current: "#ec407a",
};

let seeded = false;

function TypeChart(props: { type: SensorType; points: SeriesPoint[] }): VNode {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | null>(null);
  const color = COLORS[props.type];
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
          y: { ticks: { color: "#8a98a8" }, grid: { color: "#24303c" } },
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
  const unit = SENSOR_RANGES[props.type].unit;
  return (
    <figure class="chart" data-type={props.type}>
      <figcaption>
        <span>{props.type}</span>
        <span class="latest" data-latest={props.type}>
          {last ? `${fmt(last.avg)} ${unit} (${fmt(last.min)}–${fmt(last.max)})` : "no data"}
        </span>
      </figcaption>
      <div class="canvas">
        <canvas ref={canvas} aria-label={`${props.type} 10 s windows`} />
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

/** The charts, one per sensor type. */
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
  const types = props.type ? [props.type as SensorType] : [...SENSOR_TYPES];
  return (
    <section class="charts" data-testid="charts">
      {types.map((t) => <TypeChart key={t} type={t} points={series.get(t) ?? []} />)}
    </section>
  );
}
