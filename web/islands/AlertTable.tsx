/**
 * The alerts page's table with acknowledge buttons. Each row's button is a
 * plain form POST (works without JavaScript); with JavaScript it posts to the
 * JSON API with the bearer token kept in sessionStorage.
 */
import type { VNode } from "preact";
import { useEffect, useState } from "preact/hooks";
import { addAlerts, alerts, IS_BROWSER, startLive, timeOfDay } from "../client/live.ts";
import type { WireAlert } from "../lib/wire.ts";
import { fmt } from "../lib/windows.ts";

/** Props of `AlertTable`. */
export interface AlertTableProps {
  alerts: WireAlert[];
  severity?: string;
  state?: string;
  authRequired: boolean;
  limit: number;
}

const TOKEN_KEY = "iot-dashboard-token";
let seeded = false;

/** The alerts table. */
export default function AlertTable(props: AlertTableProps): VNode {
  if (IS_BROWSER && !seeded) {
    seeded = true;
    addAlerts(props.alerts);
  }
  const [token, setToken] = useState("");
  const [error, setError] = useState("");
  useEffect(() => {
    setToken(sessionStorage.getItem(TOKEN_KEY) ?? "");
    startLive({});
  }, []);
  const list = (IS_BROWSER ? [...alerts.value.values()] : props.alerts)
    .filter((a) => (!props.severity || a.severity === props.severity) && (!props.state || a.state === props.state))
    .sort((a, b) => b.last_seen - a.last_seen)
    .slice(0, props.limit);

  const acknowledge = async (e: Event, id: string) => {
    e.preventDefault();
    setError("");
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    try {
      const r = await fetch(`/api/alerts/${encodeURIComponent(id)}/ack`, { method: "POST", headers });
      const body = await r.json();
      if (!r.ok) return setError(body.error ?? `HTTP ${r.status}`);
      addAlerts([body.alert]);
    } catch (err) {
      setError(String(err));
    }
  };

  return (
    <div>
      {props.authRequired && (
        <div class="token">
          <label>
            Token{" "}
            <input
              type="password"
              data-testid="token"
              value={token}
              onInput={(e) => {
                const v = (e.target as HTMLInputElement).value;
                setToken(v);
                sessionStorage.setItem(TOKEN_KEY, v);
              }}
            />
          </label>
          <span class="meta">needed to acknowledge</span>
        </div>
      )}
      {error && <p class="error" data-testid="ack-error">{error}</p>}
      {list.length === 0 ? <p class="empty">No alerts match.</p> : (
        <table data-testid="alert-table">
          <thead>
            <tr>
              <th>Severity</th>
              <th>State</th>
              <th>Rule</th>
              <th>Sensor</th>
              <th>Explanation</th>
              <th class="num">Value</th>
              <th class="num">Threshold</th>
              <th>First seen</th>
              <th>Last seen</th>
              <th class="num">Count</th>
              <th>Acknowledged</th>
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.id} data-alert={a.id} data-acknowledged={String(a.acknowledged)}>
                <td>
                  <span class={`sev ${a.severity}`}>{a.severity}</span>
                </td>
                <td class={`state ${a.state}`}>{a.state}</td>
                <td>{a.rule}</td>
                <td>
                  <a href={`/sensors/${encodeURIComponent(a.sensor_id)}`}>{a.sensor_id}</a>
                  <div class="meta">{a.sensor_type} · {a.location}</div>
                </td>
                <td>{a.message}</td>
                <td class="num">{fmt(a.value)}</td>
                <td class="num">{fmt(a.threshold)}</td>
                <td>{timeOfDay(a.first_seen)}</td>
                <td>{timeOfDay(a.last_seen)}</td>
                <td class="num">{a.count}</td>
                <td>
                  {a.acknowledged ? <span class="acked">✓ {a.acknowledged_by ?? ""}</span> : (
                    <form
                      class="inline"
                      method="post"
                      action={`/alerts/${encodeURIComponent(a.id)}/ack`}
                      onSubmit={(e) => acknowledge(e, a.id)}
                    >
                      {props.authRequired && !IS_BROWSER && (
                        <input type="password" name="token" placeholder="token" size={8} />
                      )}
                      <button type="submit" data-ack={a.id}>Acknowledge</button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
