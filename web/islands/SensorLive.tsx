/**
 * A sensor's page content: recent readings chart, window stats and alerts,
 * kept live by the page's one WebSocket feed. Raw readings are not streamed
 * (nobody else watches that collection, and a change stream on it is costly):
 * when the feed reports a newer window of this sensor, the readings stored
 * since the last one are fetched once, so the chart follows the feed with no
 * timer.
 */
import type { VNode } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { Chart } from "chart.js/auto";
import { addAlerts, addWindows, alerts, IS_BROWSER, startLive, timeOfDay, windows } from "../client/live.ts";
import type { WireAlert, WireEvent, WireReading, WireWindow } from "../lib/wire.ts";
import { fmt } from "../lib/windows.ts";

/** Props of `SensorLive`. */
export interface SensorLiveProps {
  sensorId: string;
  unit: string;
  readings: WireReading[];
  windows: WireWindow[];
  alerts: WireAlert[];
  /** The sensor's anomaly events (markers on the chart). */
  events?: WireEvent[];
}

let seeded = false;
const MAX_READINGS = 300;

/** The latest update time among a sensor's windows. */
function newestUpdate(list: Iterable<WireWindow>, sensorId: string): number {
  let newest = 0;
  for (const w of list) if (w.sensor_id === sensorId && w.updated > newest) newest = w.updated;
  return newest;
}

/** The sensor view. */
export default function SensorLive(props: SensorLiveProps): VNode {
  if (IS_BROWSER && !seeded) {
    seeded = true;
    addWindows(props.windows);
    addAlerts(props.alerts);
  }
  const [readings, setReadings] = useState(props.readings);
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | null>(null);

  useEffect(() => {
    startLive({ sensor: props.sensorId, kind: "sensor", size: 10 });
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: "line",
      data: { labels: [], datasets: [] },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: {
          x: { ticks: { color: "#8a98a8", maxTicksLimit: 8 }, grid: { color: "#24303c" } },
          y: { ticks: { color: "#8a98a8" }, grid: { color: "#24303c" } },
        },
        elements: { point: { radius: 0 } },
      },
    });
    let last = props.readings.at(-1)?.t ?? 0;
    let seen = newestUpdate(props.windows, props.sensorId);
    let running = false;
    let again = false;
    const fetchNew = async () => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          const q = last ? `?since=${last}&limit=500` : "?limit=500";
          const r = await fetch(`/api/sensors/${encodeURIComponent(props.sensorId)}${q}`);
          if (!r.ok) break;
          const body = await r.json();
          const fresh: WireReading[] = body.readings ?? [];
          if (fresh.length) {
            last = fresh[fresh.length - 1].t;
            setReadings((prev) => [...prev, ...fresh].slice(-MAX_READINGS));
          }
        } while (again);
      } catch { /* offline: the next window (or the backfill after a reconnect) fetches again */ }
      running = false;
    };
    const unsubscribe = windows.subscribe((map) => {
      const newest = newestUpdate(map.values(), props.sensorId);
      if (newest > seen) {
        seen = newest;
        fetchNew();
      }
    });
    return () => {
      unsubscribe();
      chart.current?.destroy();
    };
  }, []);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = readings.map((r) => timeOfDay(r.t));
    const flagged = new Set((props.events ?? []).map((e) => e.timestamp));
    c.data.datasets = [{
      label: "value",
      data: readings.map((r) => r.value),
      borderColor: "#4fb3ff",
      borderWidth: 1.5,
    }, {
      label: "anomaly events",
      data: readings.map((r) => (flagged.has(r.t) ? r.value : null)),
      borderColor: "#ff5f56",
      backgroundColor: "#ff5f56",
      showLine: false,
      pointRadius: 4,
    }];
    c.update("none");
  }, [readings]);

  const win = (IS_BROWSER ? [...windows.value.values()] : props.windows)
    .filter((w) => w.sensor_id === props.sensorId)
    .sort((a, b) => b.start - a.start || b.size_s - a.size_s)
    .slice(0, 12);
  const al = (IS_BROWSER ? [...alerts.value.values()] : props.alerts)
    .filter((a) => a.sensor_id === props.sensorId)
    .sort((a, b) => b.last_seen - a.last_seen);
  const latest = readings.at(-1);

  return (
    <div>
      <h2>Recent readings</h2>
      <figure class="chart">
        <figcaption>
          <span>{props.sensorId}</span>
          <span class="latest" data-testid="latest-reading">
            {latest
              ? `${fmt(latest.value)}${props.unit ? ` ${props.unit}` : ""} at ${timeOfDay(latest.t)}`
              : "no readings"}
          </span>
        </figcaption>
        <div class="canvas">
          <canvas ref={canvas} aria-label="recent readings" />
        </div>
      </figure>
      <div class="cols">
        <div>
          <h2>Window stats</h2>
          {win.length === 0 ? <p class="empty">No windows yet.</p> : (
            <table data-testid="sensor-windows">
              <thead>
                <tr>
                  <th>Start</th>
                  <th class="num">Size</th>
                  <th class="num">Count</th>
                  <th class="num">Avg</th>
                  <th class="num">Min</th>
                  <th class="num">Max</th>
                  <th>Final</th>
                </tr>
              </thead>
              <tbody>
                {win.map((w) => (
                  <tr key={w.id}>
                    <td>{timeOfDay(w.start)}</td>
                    <td class="num">{w.size_s} s</td>
                    <td class="num">{w.count}</td>
                    <td class="num">{fmt(w.avg)}</td>
                    <td class="num">{fmt(w.min)}</td>
                    <td class="num">{fmt(w.max)}</td>
                    <td>{w.final ? "yes" : "open"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div>
          <h2>Incidents</h2>
          {al.length === 0 ? <p class="empty">No incidents for this sensor.</p> : (
            <ul class="feed">
              {al.map((a) => (
                <li key={a.id} data-alert={a.id}>
                  <span class={`sev ${a.severity}`}>{a.severity}</span>{" "}
                  <b>{Object.keys(a.rules ?? { [a.rule]: 1 }).join(", ")}</b>{" "}
                  <span class={`state ${a.state}`}>{a.state}</span>
                  {a.acknowledged && <span class="acked">✓ acknowledged</span>}
                  <div>{a.message}</div>
                  <div class="meta">first {timeOfDay(a.first_seen)} · last {timeOfDay(a.last_seen)} · ×{a.count}</div>
                </li>
              ))}
            </ul>
          )}
          <h2>Anomaly events</h2>
          {(props.events ?? []).length === 0
            ? <p class="empty">No anomaly events for this sensor.</p>
            : (
              <ul class="feed" data-testid="sensor-events">
                {(props.events ?? []).slice(0, 20).map((e) => (
                  <li key={e.id} data-event={e.id}>
                    <span class={`sev ${e.severity}`}>{e.severity}</span> <b>{e.detectors.join(", ")}</b>{" "}
                    {timeOfDay(e.timestamp)}
                    <div>{e.message}</div>
                  </li>
                ))}
              </ul>
            )}
        </div>
      </div>
    </div>
  );
}
