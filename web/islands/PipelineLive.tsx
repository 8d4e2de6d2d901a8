/**
 * The pipeline page: throughput, what became of every consumed record (outcomes per processor),
 * consumer lag per partition and dead letters, kept live.
 */
import type { VNode } from "preact";
import { useEffect, useState } from "preact/hooks";
import { addDeadLetters, deadLetters, IS_BROWSER, startLive, stats, timeOfDay } from "../client/live.ts";
import type { KafkaSnapshot } from "../kafka_monitor.ts";
import type { WireDeadLetter, WireStats } from "../lib/wire.ts";
import { fmt } from "../lib/windows.ts";
import { hasOutcomes, isOutcomeField, outcomeView } from "../lib/outcomes.ts";

/** Props of `PipelineLive`. */
export interface PipelineLiveProps {
  stats: WireStats[];
  kafka: KafkaSnapshot;
  deadLetterCount: number;
  deadLetters: WireDeadLetter[];
  now: number;
}

let seeded = false;

/** The pipeline view. */
export default function PipelineLive(props: PipelineLiveProps): VNode {
  if (IS_BROWSER && !seeded) {
    seeded = true;
    addDeadLetters(props.deadLetters);
  }
  const [kafka, setKafka] = useState(props.kafka);
  const [dlqCount, setDlqCount] = useState(props.deadLetterCount);
  const [heartbeats, setHeartbeats] = useState(props.stats);
  const [now, setNow] = useState(props.now);
  useEffect(() => {
    startLive({});
    const refresh = async () => {
      try {
        const r = await fetch("/api/pipeline");
        if (!r.ok) return;
        const body = await r.json();
        setKafka(body.kafka);
        setDlqCount(body.deadLetters.count);
        setHeartbeats(body.stats);
        setNow(body.now);
        addDeadLetters(body.deadLetters.latest);
      } catch { /* offline */ }
    };
    const t = setInterval(refresh, 5000);
    return () => clearInterval(t);
  }, []);
  const beats = new Map(heartbeats.map((s) => [s.id, s]));
  if (IS_BROWSER) {
    for (const s of stats.value.values()) {
      if (!beats.has(s.id) || beats.get(s.id)!.updated < s.updated) beats.set(s.id, s);
    }
  }
  const rows = [...beats.values()].sort((a, b) => a.id.localeCompare(b.id));
  const reported = rows.filter((s) => s.role === "processor" && s.lag).flatMap((s) =>
    Object.entries(s.lag!).map(([partition, lag]) => ({ id: s.id, partition, lag }))
  );
  const letters = (IS_BROWSER ? [...deadLetters.value.values()] : props.deadLetters)
    .sort((a, b) => b.failed_at - a.failed_at).slice(0, 20);
  const extra = IS_BROWSER ? [...deadLetters.value.values()].filter((d) => d.failed_at > now).length : 0;
  return (
    <div>
      <h2>Throughput</h2>
      <table data-testid="programs">
        <thead>
          <tr>
            <th>Program</th>
            <th>Instance</th>
            <th class="num">Messages/s</th>
            <th class="num">End-to-end lag</th>
            <th>Totals</th>
            <th>Heartbeat</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <td>Kafka topic {kafka.topic}</td>
            <td>produced</td>
            <td class="num" data-testid="produce-rate">
              {kafka.status === "ok" ? fmt(kafka.produceRate, 0) : "–"}
            </td>
            <td class="num">–</td>
            <td>
              {kafka.status === "ok"
                ? `high watermarks ${fmt(kafka.partitions.reduce((s, p) => s + p.high, 0), 0)}`
                : ""}
            </td>
            <td>
              <span class={`badge ${kafka.status === "ok" ? "" : "bad"}`} data-testid="kafka-status">
                {kafka.status === "ok"
                  ? "Kafka ok"
                  : kafka.status === "disabled"
                  ? "Kafka not configured"
                  : "Kafka unreachable"}
              </span>
            </td>
          </tr>
          {rows.map((s) => (
            <tr key={s.id} data-program={s.id}>
              <td>{s.role}</td>
              <td>{s.instance}</td>
              <td class="num">{fmt(s.rate, 0)}</td>
              <td class="num">{s.e2e_lag_ms === undefined ? "–" : `${fmt(s.e2e_lag_ms, 0)} ms`}</td>
              <td>
                {Object.entries(s.totals).filter(([k]) => !isOutcomeField(k)).map(([k, v]) => `${k} ${fmt(v, 0)}`)
                  .join(" · ")}
              </td>
              <td>{timeOfDay(s.updated)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Outcomes rows={rows.filter((s) => s.role === "processor" && hasOutcomes(s.totals))} />
      <h2>Consumer lag per partition ({kafka.group})</h2>
      {kafka.status !== "ok"
        ? (
          <div>
            <p class="error" data-testid="kafka-unreachable">
              {kafka.status === "disabled" ? "Kafka not configured" : "Kafka unreachable"}
              {kafka.error ? `: ${kafka.error}` : ""}
            </p>
            {reported.length > 0 && (
              <table data-testid="reported-lag">
                <thead>
                  <tr>
                    <th>Processor</th>
                    <th>Partition</th>
                    <th class="num">Lag (as last reported by the processor)</th>
                  </tr>
                </thead>
                <tbody>
                  {reported.map((r) => (
                    <tr key={`${r.id}/${r.partition}`}>
                      <td>{r.id}</td>
                      <td>{r.partition}</td>
                      <td class="num">{fmt(r.lag, 0)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        )
        : (
          <table data-testid="lag">
            <thead>
              <tr>
                <th>Partition</th>
                <th class="num">High watermark</th>
                <th class="num">Committed</th>
                <th class="num">Lag</th>
              </tr>
            </thead>
            <tbody>
              {kafka.partitions.map((p) => (
                <tr key={p.partition}>
                  <td>{p.partition}</td>
                  <td class="num">{fmt(p.high, 0)}</td>
                  <td class="num">{p.committed === undefined ? "none" : fmt(p.committed, 0)}</td>
                  <td class="num">{fmt(p.lag, 0)}</td>
                </tr>
              ))}
              <tr>
                <th>total</th>
                <td />
                <td />
                <td class="num">{fmt(kafka.totalLag, 0)}</td>
              </tr>
            </tbody>
          </table>
        )}
      <h2>
        Dead letters: <span data-testid="dlq-count">{fmt(dlqCount + extra, 0)}</span>
      </h2>
      {letters.length === 0 ? <p class="empty">No dead letters.</p> : (
        <table data-testid="dead-letters">
          <thead>
            <tr>
              <th>Failed at</th>
              <th>Reason</th>
              <th>Detail</th>
              <th>Origin</th>
              <th>Preview</th>
            </tr>
          </thead>
          <tbody>
            {letters.map((d) => (
              <tr key={d.id} data-dead-letter={d.id}>
                <td>{timeOfDay(d.failed_at)}</td>
                <td>{d.reason}</td>
                <td>{d.detail}</td>
                <td>{d.topic}:{d.partition}@{d.offset}</td>
                <td>
                  <code>{d.preview.slice(0, 80)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

const LABELS: Record<string, string> = {
  stored: "Stored",
  replay: "Replay",
  duplicate: "Duplicate",
  dead_lettered: "Dead-lettered",
  late: "Late",
  abandoned: "Abandoned",
  consume_only: "Consume-only",
};

/** Per processor: consumed, each outcome (dead letters by reason), their sum, and `seq` events. */
function Outcomes(props: { rows: WireStats[] }): VNode {
  if (props.rows.length === 0) return <p class="empty" data-testid="outcomes-empty">No processor outcomes yet.</p>;
  const views = props.rows.map((s) => ({ s, v: outcomeView(s.totals) }));
  const names = views[0].v.outcomes.map((o) => o.name);
  for (const { v } of views) for (const o of v.outcomes) if (!names.includes(o.name)) names.push(o.name);
  return (
    <div>
      <h2>Outcomes of consumed records</h2>
      <table data-testid="outcomes">
        <thead>
          <tr>
            <th>Processor</th>
            <th class="num">Consumed</th>
            {names.map((n) => <th key={n} class="num">{LABELS[n] ?? n}</th>)}
            <th class="num">Sum</th>
            <th>Dead-lettered by reason</th>
            <th>Sequence (seq)</th>
          </tr>
        </thead>
        <tbody>
          {views.map(({ s, v }) => (
            <tr key={s.id} data-outcomes={s.id}>
              <td>{s.id}</td>
              <td class="num" data-outcome="consumed">{fmt(v.consumed, 0)}</td>
              {names.map((n) => (
                <td key={n} class="num" data-outcome={n}>
                  {fmt(v.outcomes.find((o) => o.name === n)?.count ?? 0, 0)}
                </td>
              ))}
              <td class="num" data-outcome="sum">
                {fmt(v.sum, 0)}
                {v.pending !== 0 && <span class="meta">{` (${fmt(v.pending, 0)} in flight)`}</span>}
              </td>
              <td data-outcome="dead_lettered_by_reason">
                {v.deadLetteredByReason.length === 0
                  ? "none"
                  : v.deadLetteredByReason.map((r) => `${r.reason} ${fmt(r.count, 0)}`).join(" · ")}
              </td>
              <td data-outcome="seq">
                {Object.keys(v.seq).length === 0
                  ? "–"
                  : ["gap", "missing", "reorder", "repeat", "restart"].filter((k) => k in v.seq)
                    .map((k) => `${k} ${fmt(v.seq[k], 0)}`).join(" · ")}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
