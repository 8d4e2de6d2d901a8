/** The live alert feed of the overview: the latest alerts, newest first. */
import type { VNode } from "preact";
import { useEffect } from "preact/hooks";
import { addAlerts, alerts, IS_BROWSER, startLive, timeOfDay } from "../client/live.ts";
import type { WireAlert } from "../lib/wire.ts";
import { fmt } from "../lib/windows.ts";

/** Props of `AlertFeed`. */
export interface AlertFeedProps {
  alerts: WireAlert[];
  type?: string;
  location?: string;
  limit?: number;
}

let seeded = false;

/** The feed. */
export default function AlertFeed(props: AlertFeedProps): VNode {
  if (IS_BROWSER && !seeded) {
    seeded = true;
    addAlerts(props.alerts);
  }
  useEffect(() => {
    startLive({ types: props.type ? [props.type] : [], locations: props.location ? [props.location] : [] });
  }, []);
  const list = (IS_BROWSER ? [...alerts.value.values()] : props.alerts)
    .filter((a) => (!props.type || a.sensor_type === props.type) && (!props.location || a.location === props.location))
    .sort((a, b) => b.last_seen - a.last_seen)
    .slice(0, props.limit ?? 20);
  if (list.length === 0) return <p class="empty" data-testid="alert-feed">No alerts.</p>;
  return (
    <ul class="feed" data-testid="alert-feed">
      {list.map((a) => (
        <li key={a.id} data-alert={a.id}>
          <span class={`sev ${a.severity}`}>{a.severity}</span>{" "}
          <a href={`/sensors/${encodeURIComponent(a.sensor_id)}`}>{a.sensor_id}</a> <b>{a.rule}</b>{" "}
          <span class={`state ${a.state}`}>{a.state}</span>
          {a.acknowledged && <span class="acked">✓ acknowledged</span>}
          <div>{a.message}</div>
          <div class="meta">
            {a.sensor_type} · {a.location} · value {fmt(a.value)} · threshold {fmt(a.threshold)} · last{" "}
            {timeOfDay(a.last_seen)} · ×{a.count}
          </div>
        </li>
      ))}
    </ul>
  );
}
