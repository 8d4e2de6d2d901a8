/**
 * `benchLatency`: end-to-end latency at fixed producer rates — from a
 * reading's event time until (a) the window holding it is visible in MongoDB,
 * (b) a WebSocket client of the dashboard receives it, and (c) the raw reading
 * is stored — with Kafka's own `EndToEndLatency` (produce → consume round
 * trip) as the baseline.
 *
 * Method: the fleet producer runs open-loop at the fixed rate (no coordinated
 * omission: it does not wait for the pipeline). Beside it, a probe sensor
 * sends one reading every 20 ms stamped with its send time, at a location of
 * its own (`PROBE_LOCATION`), so the 10 s type × location window of that
 * location — what the dashboard shows live — counts only probe readings: when
 * its count reaches k, the k-th probe reading of that window has become
 * visible. Every probe reading gets its exact first-visible time, read by
 * polling MongoDB every 5 ms (the window, and the raw readings by `_id`) and
 * from the frames of a WebSocket client of the dashboard subscribed to that
 * location. Processor, web and producer run as separate processes; their CPU
 * use is reported per 10k msg/s. Probes start after a warm-up (`WARM_UP_MS`),
 * during which the probe producer sends a reading every 500 ms to a location
 * of its own: what is measured is a running stack, not its first seconds.
 * `--trace FILE` writes every probe seen (rate, event time, where, latency).
 *
 * MongoDB is always a fresh in-memory stand-in (mongo-java-server with our
 * oplog, `dev/java/StreamOplog.java`); see the README's benchmark section for
 * what differs on real MongoDB.
 *
 * Standalone: `deno run -A bench/latency.ts [--rates 1000,10000] [--duration 30]`.
 */
import { MongoClient } from "mongodb";
import {
  COLLECTIONS,
  createKafka,
  createLogger,
  parseFlags,
  readingId,
  runMain,
  SENSOR_RANGES,
  sensorProfile,
  UsageError,
  windowId,
} from "@iot/shared";
import type { SensorReading } from "@iot/shared";
import { LogHistogram, type Percentiles } from "@iot/producer";
import { windowStart } from "../processor/stages/windows.ts";
import { LocalKafka } from "../dev/kafka.ts";
import { LocalMongo } from "../dev/mongo.ts";
import { freePort, type ManagedProcess } from "../dev/process.ts";
import { CpuMeter } from "./cpu.ts";
import { runKafkaTool } from "./kafka_tools.ts";
import { type BenchResult, result, round } from "./result.ts";
import { startProgram } from "./services.ts";

/** Options of `benchLatency`. */
export interface BenchLatencyOptions {
  /** Producer rates in msg/s (default 1000 and 10 000). */
  rates?: number[];
  /** Seconds measured per rate (default 30). */
  durationS?: number;
  /** Processor flush interval in ms (default: the processor's). */
  flushMs?: number;
  /** Processor live flush interval in ms (default: the processor's; 0 = off). */
  liveFlushMs?: number;
  brokers?: string[];
  /** Process id of the broker given in `brokers`, for its CPU figure. */
  kafkaPid?: number;
  /** A CSV file that gets one row per probe seen: rate, event time, where seen, latency (ms). */
  traceFile?: string;
  log?: (line: string) => void;
}

/** Latency of one rate. */
export interface LatencyRun {
  rate: number;
  /** Event → the window holding it visible in MongoDB. */
  mongo: Percentiles;
  /** Event → a dashboard WebSocket client receives that window. */
  ws: Percentiles;
  /** Event → the raw reading stored. */
  raw: Percentiles;
  /** Cores used per process. */
  cpu: Record<string, number>;
  /** Probe readings sent (acknowledged by Kafka). */
  probes: number;
}

const PROBE = "sensor_9999";
/** The probe's own location: its type × location window holds only probe readings. */
export const PROBE_LOCATION = "bench-probe";
const PROBE_EVERY_MS = 20;
const WINDOW_MS = 10_000;
/** Time between the start of the stack and the first probe. */
export const WARM_UP_MS = 20_000;

/** Tracks which probe readings became visible, from a window's count. */
class ProbeTracker {
  /** Event times of the probe readings sent, per 10 s window start. */
  readonly sent = new Map<number, number[]>();
  readonly #seen = new Map<string, Map<number, number>>();
  readonly hist = { mongo: new LogHistogram(), ws: new LogHistogram(), raw: new LogHistogram() };
  /** Raw readings not seen stored yet: `_id` → event time. */
  readonly unstored = new Map<string, number>();
  /** Every probe seen: event time, where, latency. */
  readonly trace: [number, string, number][] = [];

  /** Records a sent probe reading. */
  add(reading: SensorReading, eventTime: number): void {
    const start = windowStart(eventTime, WINDOW_MS);
    let list = this.sent.get(start);
    if (!list) this.sent.set(start, list = []);
    list.push(eventTime);
    this.unstored.set(readingId(reading), eventTime);
  }

  /** Raw readings `ids` were found stored at time `now`. */
  stored(ids: readonly string[], now: number): void {
    for (const id of ids) {
      const t = this.unstored.get(id);
      if (t === undefined) continue;
      this.hist.raw.record(now - t);
      this.trace.push([t, "raw", now - t]);
      this.unstored.delete(id);
    }
  }

  /** A window of the probe was observed by `via` with `count` readings at time `now`. */
  observe(via: "mongo" | "ws", start: number, count: number, now: number): void {
    let seen = this.#seen.get(via);
    if (!seen) this.#seen.set(via, seen = new Map());
    const before = seen.get(start) ?? 0;
    if (count <= before) return;
    const times = this.sent.get(start) ?? [];
    for (let i = before; i < Math.min(count, times.length); i++) {
      this.hist[via].record(now - times[i]);
      this.trace.push([times[i], via, now - times[i]]);
    }
    seen.set(start, count);
  }
}

async function measureRate(
  rate: number,
  brokers: string[],
  options: BenchLatencyOptions,
  kafkaPid: number | undefined,
): Promise<LatencyRun> {
  const log = options.log ?? ((l: string) => console.error(l));
  const duration = options.durationS ?? 30;
  const mongo = new LocalMongo({ engine: "java", heap: "3g" });
  const procs: ManagedProcess[] = [];
  const tag = `lat${rate}-${Date.now().toString(36)}`;
  const client = new MongoClient(`mongodb://127.0.0.1:${mongo.port}/?directConnection=true`);
  const logger = createLogger({ name: "bench", level: "warn" });
  const kafka = await createKafka({ brokers, clientId: "bench" }, { role: "probe", logger });
  const probeProducer = kafka.producer();
  let ws: WebSocket | undefined;
  try {
    await mongo.start();
    const env: Record<string, string> = {
      KAFKA_BROKERS: brokers.join(","),
      MONGO_URL: mongo.url,
      MONGO_DB: "bench",
      KAFKA_TOPIC: `${tag}-readings`,
      KAFKA_DLQ_TOPIC: `${tag}-dlq`,
      KAFKA_ALERTS_TOPIC: `${tag}-alerts`,
      PROCESSOR_GROUP: `${tag}-group`,
      RAW_RETENTION_DAYS: "1",
    };
    if (options.flushMs) env.PROCESSOR_FLUSH_MS = String(options.flushMs);
    if (options.liveFlushMs !== undefined) env.PROCESSOR_LIVE_FLUSH_MS = String(options.liveFlushMs);
    const metricsPort = freePort();
    const webPort = freePort();
    procs.push(
      await startProgram({
        name: "processor",
        script: "processor/main.ts",
        env: { ...env, PROCESSOR_METRICS_PORT: String(metricsPort) },
        healthUrl: `http://127.0.0.1:${metricsPort}/healthz`,
      }),
    );
    procs.push(
      await startProgram({
        name: "web",
        script: "web/main.ts",
        env: { ...env, WEB_PORT: String(webPort), WEB_HOST: "127.0.0.1" },
        healthUrl: `http://127.0.0.1:${webPort}/healthz`,
      }),
    );
    const producer = await startProgram({
      name: "producer",
      script: "producer/main.ts",
      args: [
        "--rate",
        String(rate),
        "--sensors",
        "1000",
        "--duration",
        String(duration + WARM_UP_MS / 1000 + 10),
        "--quiet",
      ],
      env,
    });
    procs.push(producer);
    await client.connect();
    await probeProducer.connect();
    const tracker = new ProbeTracker();

    // WebSocket client of the dashboard, subscribed to the probe location's 10 s type × location windows.
    ws = new WebSocket(`ws://127.0.0.1:${webPort}/ws`);
    const socket = ws;
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error("WebSocket to the dashboard failed"));
    });
    socket.send(JSON.stringify({ t: "sub", locations: [PROBE_LOCATION], kind: "type_location", size: 10 }));
    socket.onmessage = (ev) => {
      const now = Date.now();
      const frame = JSON.parse(String(ev.data));
      if (frame.t !== "batch") return;
      for (const w of frame.windows ?? []) {
        if (w.location === PROBE_LOCATION && w.size_s === 10) tracker.observe("ws", w.start, w.count, now);
      }
    };

    // Warm-up: the producer reaches its rate, the processor catches up, and the JVMs (a fresh stand-in per
    // rate) compile their hot paths; until then a probe waits up to a second. Measured is the steady state.
    // The probe producer warms up too (metadata, connection): its readings go to a location of their own, so
    // that they count in no probe window.
    const profile = sensorProfile(PROBE);
    let seq = 0;
    const probeReading = (t: number, location: string): SensorReading => ({
      sensor_id: PROBE,
      sensor_type: profile.sensorType,
      value: (SENSOR_RANGES[profile.sensorType].normalMin + SENSOR_RANGES[profile.sensorType].normalMax) / 2,
      location,
      timestamp: new Date(t).toISOString(),
      status: "normal",
      seq: seq++,
      metadata: { unit: profile.unit, sensor_model: profile.model, battery_level: 100 },
    });
    const send = (reading: SensorReading) =>
      probeProducer.send({
        topic: env.KAFKA_TOPIC,
        acks: -1,
        messages: [{ key: PROBE, value: JSON.stringify(reading) }],
      });
    for (const warmUpEnd = Date.now() + WARM_UP_MS; Date.now() < warmUpEnd;) {
      await send(probeReading(Date.now(), `${PROBE_LOCATION}-warm-up`)).catch(() => {});
      await new Promise((r) => setTimeout(r, 500));
    }
    const meter = new CpuMeter({
      producer: producer.pid,
      processor: procs[0].pid,
      web: procs[1].pid,
      kafka: kafkaPid,
      mongo: mongo.pid,
      bench: Deno.pid,
    });
    await meter.start();

    let probes = 0;
    let sendFailures = 0;
    let probing = true;
    const windows = client.db("bench").collection(COLLECTIONS.windows);
    const raw = client.db("bench").collection(COLLECTIONS.readings);
    const group = `${profile.sensorType}/${PROBE_LOCATION}`;
    const poller = (async () => {
      while (probing || tracker.sent.size > 0) {
        const now = Date.now();
        const starts = [...tracker.sent.keys()].filter((s) => s >= windowStart(now, WINDOW_MS) - WINDOW_MS);
        for (const start of starts) {
          const doc = await windows.findOne(
            { _id: windowId("type_location", group, start, WINDOW_MS) as never },
            { projection: { count: 1 } },
          );
          if (doc) tracker.observe("mongo", start, doc.count, Date.now());
        }
        // Raw readings by `_id` (an index lookup on every server); given up after 10 s unseen.
        for (const [id, t] of tracker.unstored) if (now - t > 10_000) tracker.unstored.delete(id);
        if (tracker.unstored.size) {
          const found = await raw.find({ _id: { $in: [...tracker.unstored.keys()] as never[] } }, {
            projection: { _id: 1 },
          }).toArray();
          tracker.stored(found.map((d) => String(d._id)), Date.now());
        }
        if (!probing) break;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const until = Date.now() + duration * 1000;
    while (Date.now() < until) {
      const t = Date.now();
      const reading = probeReading(t, PROBE_LOCATION);
      tracker.add(reading, t);
      probes++;
      send(reading).catch(() => sendFailures++);
      await new Promise((r) => setTimeout(r, Math.max(0, PROBE_EVERY_MS - (Date.now() - t))));
    }
    // Let the last probes become visible.
    await new Promise((r) => setTimeout(r, 3000));
    probing = false;
    await poller;
    const cpu = await meter.stop();
    if (options.traceFile) {
      const rows = tracker.trace.map(([t, via, ms]) => `${rate},${t},${via},${ms}\n`).join("");
      await Deno.writeTextFile(options.traceFile, rows, { append: true });
    }
    const run: LatencyRun = {
      rate,
      mongo: tracker.hist.mongo.summary(),
      ws: tracker.hist.ws.summary(),
      raw: tracker.hist.raw.summary(),
      cpu,
      probes: probes - sendFailures,
    };
    const line = (name: string, p: Percentiles) =>
      `${name} p50 ${round(p.p50)} p95 ${round(p.p95)} p99 ${round(p.p99)} ms (${p.count}/${run.probes} seen)`;
    log(
      `bench latency @${rate}/s: ${run.probes} probes; ${line("window in MongoDB", run.mongo)}; ${
        line("dashboard WebSocket", run.ws)
      }; ${line("raw stored", run.raw)}; CPU cores per 10k msg/s ${JSON.stringify(per10k(cpu, rate))}`,
    );
    return run;
  } finally {
    try {
      ws?.close();
    } catch { /* closed */ }
    await probeProducer.disconnect().catch(() => {});
    for (const p of procs.reverse()) await p.stop(15_000);
    await client.close(true).catch(() => {});
    await mongo.dispose();
  }
}

/** Cores per process scaled to 10k msg/s. */
function per10k(cpu: Record<string, number>, rate: number): Record<string, number> {
  return Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round((v * 10_000) / rate, 3)]));
}

/** Runs Kafka's EndToEndLatency (closed loop, acks=all) and returns its p50 and p99 in ms. */
export async function kafkaEndToEnd(
  brokers: string[],
  messages = 5000,
  size = 230,
): Promise<{ p50: number; p99: number }> {
  const topic = `bench-e2e-${Date.now().toString(36)}`;
  await runKafkaTool("org.apache.kafka.tools.TopicCommand", [
    "--bootstrap-server",
    brokers[0],
    "--create",
    "--topic",
    topic,
    "--partitions",
    "1",
  ]);
  const out = await runKafkaTool("org.apache.kafka.tools.EndToEndLatency", [
    brokers[0],
    topic,
    String(messages),
    "all",
    String(size),
  ]);
  return parseEndToEnd(out);
}

/** Parses "Percentiles: 50th = 2, 99th = 51, 99.9th = 166" from EndToEndLatency's output. */
export function parseEndToEnd(stdout: string): { p50: number; p99: number } {
  const m = /Percentiles: 50th = ([\d.]+), 99th = ([\d.]+)/.exec(stdout);
  if (!m) throw new Error(`Unexpected EndToEndLatency output: ${stdout.slice(-300)}`);
  return { p50: Number(m[1]), p99: Number(m[2]) };
}

/** Measures latency at each rate and returns p99 results against Kafka's EndToEndLatency. */
export async function benchLatency(options: BenchLatencyOptions = {}): Promise<BenchResult[]> {
  const log = options.log ?? ((l: string) => console.error(l));
  const rates = options.rates ?? [1000, 10_000];
  let local: LocalKafka | undefined;
  try {
    let brokers = options.brokers;
    if (!brokers) {
      local = new LocalKafka({ heap: "1g" });
      await local.start();
      brokers = [local.brokers];
    }
    const baseline = await kafkaEndToEnd(brokers);
    log(`bench latency: Kafka EndToEndLatency p50 ${baseline.p50} ms, p99 ${baseline.p99} ms`);
    const results: BenchResult[] = [];
    for (const rate of rates) {
      const run = await measureRate(rate, brokers, options, local?.pid ?? options.kafkaPid);
      const seen = (p: Percentiles) =>
        `p50 ${round(p.p50)} / p95 ${round(p.p95)} ms; ${p.count} of ${run.probes} probes seen`;
      const settings = `over ${options.durationS ?? 30} s; flush ${options.flushMs ?? "default"} ms, live flush ${
        options.liveFlushMs ?? "default"
      } ms; MongoDB: mongo-java-server (in memory, our oplog)`;
      const goal = rate <= 1000 ? 300 : rate <= 10_000 ? 1000 : undefined;
      const baselineOf = {
        baseline: "kafka EndToEndLatency p99 (produce→consume, closed loop)",
        baseline_runs: [baseline.p99],
      };
      results.push(
        await result({
          name: `latency.event_to_dashboard_p99@${rate}`,
          unit: "ms",
          ...baselineOf,
          runs: [round(run.ws.p99)],
          lowerIsBetter: true,
          notes: `${seen(run.ws)}; CPU cores per 10k msg/s ${JSON.stringify(per10k(run.cpu, rate))}; ${settings}`,
          target: goal === undefined ? undefined : `p99 ≤ ${goal} ms at ${rate} msg/s, every probe seen`,
          met: goal === undefined ? undefined : run.ws.p99 <= goal && run.ws.count >= run.probes,
        }),
        await result({
          name: `latency.event_to_mongo_p99@${rate}`,
          unit: "ms",
          ...baselineOf,
          runs: [round(run.mongo.p99)],
          lowerIsBetter: true,
          notes: `${seen(run.mongo)} (type × location window)`,
        }),
        await result({
          name: `latency.event_to_raw_stored_p99@${rate}`,
          unit: "ms",
          ...baselineOf,
          runs: [round(run.raw.p99)],
          lowerIsBetter: true,
          notes: seen(run.raw),
        }),
      );
    }
    return results;
  } finally {
    await local?.dispose();
  }
}

if (import.meta.main) {
  runMain(async () => {
    const flags = parseFlags(Deno.args, {
      rates: { type: "string", default: "1000,10000", help: "Comma-separated producer rates" },
      duration: { type: "number", default: 30, min: 5, max: 300, help: "Seconds measured per rate" },
      "flush-ms": { type: "number", min: 10, max: 60_000, integer: true, help: "Processor flush interval" },
      "live-flush-ms": { type: "number", min: 0, max: 60_000, integer: true, help: "Processor live flush interval" },
      trace: { type: "string", help: "CSV file for every probe seen (rate, event ms, where, latency ms)" },
    });
    const rates = flags.rates.split(",").map(Number);
    if (rates.some((r) => !(r > 0))) throw new UsageError("Flag --rates must be positive numbers");
    const results = await benchLatency({
      rates,
      durationS: flags.duration,
      flushMs: flags["flush-ms"],
      liveFlushMs: flags["live-flush-ms"],
      traceFile: flags.trace,
    });
    for (const r of results) console.log(JSON.stringify(r));
  });
}
