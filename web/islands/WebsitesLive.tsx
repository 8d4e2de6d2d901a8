/**
 * Website monitoring, live: a card per target (status, uptime, average
 * response, checks), the response times of the recent checks (Chart.js) and
 * the website alerts. Its own WebSocket (`/ws/websites`, reconnecting through
 * `client/socket.ts`) with backfill from `/api/websites`; the header badge
 * shows its state.
 */
import type { VNode } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { Chart } from "chart.js/auto";
import { IS_BROWSER, status, timeOfDay } from "../client/live.ts";
import { openLiveSocket } from "../client/socket.ts";
import type { WebsiteFrame, WireSite, WireWebsiteAlert } from "../lib/website_wire.ts";

/** Props of `WebsitesLive`. */
export interface WebsitesLiveProps {
  sites: WireSite[];
  alerts: WireWebsiteAlert[];
  now: number;
}

const COLORS = ["#29b6f6", "#ff7043", "#66bb6a", "#ab47bc", "#ffca28", "#ec407a", "#26a69a", "#8d6e63"];

function ms(v: number | null): string {
  return v === null ? "–" : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`;
}

function ResponseChart(props: { sites: WireSite[] }): VNode {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | null>(null);
  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: "line",
      data: { datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        plugins: { legend: { labels: { color: "#8a98a8" } }, tooltip: { mode: "nearest", intersect: false } },
        scales: {
          x: {
            type: "linear",
            ticks: { color: "#8a98a8", maxTicksLimit: 6, callback: (v) => timeOfDay(Number(v)) },
            grid: { color: "#24303c" },
          },
          y: { title: { display: true, text: "ms", color: "#8a98a8" }, ticks: { color: "#8a98a8" } },
        },
        elements: { point: { radius: 1 } },
      },
    });
    return () => chart.current?.destroy();
  }, []);
  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.datasets = props.sites.map((s, i) => ({
      label: s.name,
      data: s.recent.filter((r) => r[1] !== null).map((r) => ({ x: r[0], y: r[1] as number })),
      borderColor: COLORS[i % COLORS.length],
      borderWidth: 2,
      fill: false,
    }));
    c.update("none");
  }, [props.sites]);
  return (
    <figure class="chart" data-testid="website-chart">
      <figcaption>
        <span>Response time of the last checks</span>
      </figcaption>
      <div class="canvas">
        <canvas ref={canvas} aria-label="Response time per target" />
      </div>
    </figure>
  );
}

/** The websites view. */
export default function WebsitesLive(props: WebsitesLiveProps): VNode {
  const [sites, setSites] = useState(() => new Map(props.sites.map((s) => [s.id, s])));
  const [alerts, setAlerts] = useState(() => new Map(props.alerts.map((a) => [a.id, a])));
  useEffect(() => {
    if (!IS_BROWSER || typeof WebSocket === "undefined") return;
    const merge = (frame: { sites?: WireSite[]; alerts?: WireWebsiteAlert[] }) => {
      if (frame.sites?.length) {
        setSites((prev) => {
          const next = new Map(prev);
          for (const s of frame.sites!) next.set(s.id, s);
          return next;
        });
      }
      if (frame.alerts?.length) {
        setAlerts((prev) => {
          const next = new Map(prev);
          for (const a of frame.alerts!) next.set(a.id, a);
          return next;
        });
      }
    };
    const backfill = () =>
      fetch("/api/websites").then((r) => r.ok ? r.json() : {}).then((b) => merge(b)).catch(() => {});
    const socket = openLiveSocket({
      path: "/ws/websites",
      onState: (s) => status.value = s,
      onOpen: (_ws, reconnected) => {
        if (reconnected) backfill();
      },
      onFrame: (frame) => {
        if ((frame as WebsiteFrame).t === "batch") merge(frame as WebsiteFrame & { t: "batch" });
      },
    });
    return () => socket.close();
  }, []);
  const list = [...sites.values()].sort((a, b) => a.name.localeCompare(b.name) || a.url.localeCompare(b.url));
  const alertList = [...alerts.values()]
    .sort((a, b) => (a.state === "firing" ? 0 : 1) - (b.state === "firing" ? 0 : 1) || b.last_seen - a.last_seen)
    .slice(0, 50);
  return (
    <div data-testid="websites">
      {list.length === 0
        ? (
          <p class="empty" data-testid="no-websites">
            No checks yet. Start the checker: <code>deno task producer --source http --targets targets.json</code>
          </p>
        )
        : (
          <section class="tiles" data-testid="website-cards">
            {list.map((s) => (
              <div key={s.id} class="tile" data-site={s.url} data-up={String(s.is_up)}>
                <div class="label" title={s.url}>
                  <span class={`state ${s.is_up ? "resolved" : "firing"}`}>{s.is_up ? "UP" : "DOWN"}</span> {s.name}
                </div>
                <div class="value" data-uptime={s.uptime_pct}>
                  {s.uptime_pct.toFixed(1)}
                  <span class="unit">% up</span>
                </div>
                <div class="meta">
                  avg {ms(s.avg_ms)} · p95 {ms(s.p95_ms)} · {s.checks} checks
                  <br />
                  {s.category} · last {timeOfDay(s.last_check)}{" "}
                  {s.last_status_code !== null ? `HTTP ${s.last_status_code}` : s.last_error ?? ""}
                </div>
              </div>
            ))}
          </section>
        )}
      <ResponseChart sites={list} />
      <h2>Website alerts</h2>
      {alertList.length === 0
        ? <p class="empty" data-testid="website-alerts">No website alerts.</p>
        : (
          <ul class="feed" data-testid="website-alerts">
            {alertList.map((a) => (
              <li key={a.id} data-alert={a.id} data-rule={a.rule} data-state={a.state}>
                <span class={`sev ${a.severity}`}>{a.severity}</span> <b>{a.rule}</b> {a.name}{" "}
                <span class={`state ${a.state}`}>{a.state}</span>
                {a.acknowledged && <span class="acked">✓ acknowledged</span>}
                <div>{a.message}</div>
                <div class="meta">
                  {a.url} · first {timeOfDay(a.first_seen)} · last {timeOfDay(a.last_seen)} · ×{a.count}
                </div>
              </li>
            ))}
          </ul>
        )}
    </div>
  );
}
