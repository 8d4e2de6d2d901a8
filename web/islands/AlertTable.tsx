/**
 * The alerts page's incident table: grouped by location, type or rule (with
 * counts), each incident with its rules, acknowledge and silence buttons, and
 * the silences in effect. The acknowledge button is a plain form POST (works
 * without JavaScript); with JavaScript it posts to the JSON API with the bearer
 * token kept in sessionStorage, as do the silence actions.
 */
import type { VNode } from "preact";
import { useEffect, useState } from "preact/hooks";
import { addAlerts, alerts, IS_BROWSER, startLive, timeOfDay } from "../client/live.ts";
import type { WireAlert, WireSilence } from "../lib/wire.ts";
import { fmt } from "../lib/windows.ts";

/** Props of `AlertTable`. */
export interface AlertTableProps {
  alerts: WireAlert[];
  severity?: string;
  state?: string;
  location?: string;
  type?: string;
  rule?: string;
  /** Group rows by this field. */
  group?: "location" | "type" | "rule";
  silences: WireSilence[];
  authRequired: boolean;
  limit: number;
}

/** How long a silence from the table lasts. */
const SILENCE_S = 3600;

const groupKey = (a: WireAlert, g: AlertTableProps["group"]): string =>
  g === "location" ? a.location : g === "type" ? a.sensor_type : g === "rule" ? a.rule : "";

const matchers = (m: WireSilence["matchers"]): string => Object.entries(m).map(([k, v]) => `${k}=${v}`).join(", ");

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
  const [silences, setSilences] = useState(props.silences);
  const [reason, setReason] = useState("");
  useEffect(() => {
    setToken(sessionStorage.getItem(TOKEN_KEY) ?? "");
    startLive({});
  }, []);
  const list = (IS_BROWSER ? [...alerts.value.values()] : props.alerts)
    .filter((a) =>
      (!props.severity || a.severity === props.severity) && (!props.state || a.state === props.state) &&
      (!props.location || a.location === props.location) && (!props.type || a.sensor_type === props.type) &&
      (!props.rule || props.rule in (a.rules ?? { [a.rule]: 1 }))
    )
    .sort((a, b) => b.last_seen - a.last_seen)
    .slice(0, props.limit);
  const groups = new Map<string, WireAlert[]>();
  for (const a of list) {
    const k = groupKey(a, props.group);
    groups.set(k, [...(groups.get(k) ?? []), a]);
  }
  const send = async (path: string, method: string, body?: unknown): Promise<Record<string, unknown> | undefined> => {
    setError("");
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    try {
      const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const json = await r.json();
      if (r.ok) return json;
      setError(json.error ?? `HTTP ${r.status}`);
    } catch (err) {
      setError(String(err));
    }
    return undefined;
  };
  const silence = async (a: WireAlert) => {
    const body = {
      sensor_id: a.sensor_id,
      reason: reason.trim() || "Silenced from the Alerts page",
      duration_s: SILENCE_S,
    };
    const r = await send("/api/silences", "POST", body);
    if (r) setSilences([r.silence as WireSilence, ...silences]);
  };
  const unsilence = async (id: string) => {
    if (await send(`/api/silences/${encodeURIComponent(id)}`, "DELETE")) {
      setSilences(silences.filter((s) => s.id !== id));
    }
  };
  const silencedBy = (a: WireAlert) =>
    silences.find((s) =>
      (!s.matchers.sensor_id || s.matchers.sensor_id === a.sensor_id) &&
      (!s.matchers.location || s.matchers.location === a.location) &&
      (!s.matchers.sensor_type || s.matchers.sensor_type === a.sensor_type) &&
      (!s.matchers.rule || s.matchers.rule in (a.rules ?? {})) && !s.matchers.url
    );

  const acknowledge = async (e: Event, id: string) => {
    e.preventDefault();
    const r = await send(`/api/incidents/${encodeURIComponent(id)}/ack`, "POST");
    if (r) addAlerts([r.incident as WireAlert]);
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
          <span class="meta">needed to acknowledge and silence</span>
        </div>
      )}
      <div class="token">
        <label>
          Silence reason{" "}
          <input
            type="text"
            data-testid="silence-reason"
            value={reason}
            placeholder="maintenance, known fault, …"
            onInput={(e) => setReason((e.target as HTMLInputElement).value)}
          />
        </label>
        <span class="meta">a silence lasts {SILENCE_S / 3600} h: its incidents are recorded, not announced</span>
      </div>
      {silences.length > 0 && (
        <ul class="silences" data-testid="silences">
          {silences.map((s) => (
            <li key={s.id} data-silence={s.id}>
              Silenced {matchers(s.matchers)} until {timeOfDay(s.expires_at)}: {s.reason}{" "}
              {IS_BROWSER && <button type="button" data-unsilence={s.id} onClick={() => unsilence(s.id)}>End</button>}
            </li>
          ))}
        </ul>
      )}
      {error && <p class="error" data-testid="ack-error">{error}</p>}
      {list.length === 0 ? <p class="empty">No alerts match.</p> : (
        <table data-testid="alert-table">
          <thead>
            <tr>
              <th>Severity</th>
              <th>State</th>
              <th>Rules</th>
              <th>Sensor</th>
              <th>Explanation</th>
              <th class="num">Value</th>
              <th class="num">Threshold</th>
              <th>First seen</th>
              <th>Last seen</th>
              <th class="num">Count</th>
              <th>Acknowledged</th>
              <th>Silence</th>
            </tr>
          </thead>
          {[...groups].map(([g, rows]) => (
            <tbody key={g} data-group={g}>
              {props.group && (
                <tr class="group">
                  <th colspan={12} data-group-count={rows.length}>
                    {props.group} {g}: {rows.length} incident{rows.length === 1 ? "" : "s"},{" "}
                    {rows.filter((a) => a.state === "firing").length} open
                  </th>
                </tr>
              )}
              {rows.map((a) => (
                <tr key={a.id} data-alert={a.id} data-acknowledged={String(a.acknowledged)} data-status={a.status}>
                  <td>
                    <span class={`sev ${a.severity}`}>{a.severity}</span>
                  </td>
                  <td class={`state ${a.state}`}>{a.status ?? a.state}</td>
                  <td>
                    {Object.entries(a.rules ?? { [a.rule]: { count: a.count, active: a.state === "firing" } }).map((
                      [r, v],
                    ) => (
                      <div key={r} class={v.active ? "rule active" : "rule"}>
                        {r} ×{v.count}
                      </div>
                    ))}
                  </td>
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
                  <td>
                    {silencedBy(a) || a.silenced
                      ? <span class="silenced" data-silenced={a.id}>silenced</span>
                      : IS_BROWSER && a.state === "firing" && (
                        <button
                          type="button"
                          data-silence={a.id}
                          onClick={() => silence(a)}
                        >
                          Silence sensor
                        </button>
                      )}
                  </td>
                </tr>
              ))}
            </tbody>
          ))}
        </table>
      )}
    </div>
  );
}
