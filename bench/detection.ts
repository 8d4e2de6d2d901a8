/**
 * `deno task bench detection`: detection quality against the simulator's
 * ground truth, in process and on a simulated clock (no services, fast). A
 * seeded fleet (`producer/generator.ts`: anomaly spikes, and stuck, drift and
 * dropout sensors) runs through the processor's detectors and incident engine
 * (`processor/stages/detect.ts`) with its default settings. Reports:
 *
 * - per detector, precision and recall of anomaly events against the injected spikes;
 * - per fault kind, incident recall and time to detect (from the fault's onset);
 * - false incidents per 1,000 sensor-hours on a fleet with spikes but no persistent faults.
 *
 * Onsets: a stuck sensor is stuck from its first reading; a drift sensor's
 * fault shows from its first drifted reading outside the normal band (it
 * drifts inside the band before, where its values are still plausible); a
 * dropout sensor's from the start of its first silent period.
 */
import { describeType } from "@iot/shared";
import { FleetGenerator, type GeneratedRecord } from "../producer/generator.ts";
import { AlertManager } from "../processor/stages/alerts.ts";
import { Detection, READING_RULES } from "../processor/stages/detect.ts";
import { DEFAULT_DETECTOR_CONFIG } from "../processor/stages/detectors.ts";
import type { Valid } from "../processor/stages/decode.ts";
import type { RulePolicy } from "../processor/stages/alert_lifecycle.ts";
import { type BenchResult, result, round } from "./result.ts";

/** Options of one simulated run. */
export interface DetectionRunOptions {
  sensors: number;
  /** Readings per second over the fleet. */
  rate: number;
  durationS: number;
  seed: number;
  anomalyRate?: number;
  stuck?: number;
  drift?: number;
  dropout?: number;
  policy?: RulePolicy;
}

/** What a run measured. */
export interface DetectionRun {
  sensorHours: number;
  readings: number;
  spikes: number;
  /** Per detector: events on which it fired, those on spike readings, spikes it caught. */
  detectors: Record<string, { fired: number; onSpikes: number; spikesCaught: number }>;
  /** Spike readings with an event (any detector). */
  spikesWithEvent: number;
  /** Per fault kind: sensors, those with an incident, seconds from onset to the incident. */
  faults: Record<string, { sensors: number; detected: number; secondsToDetect: number[] }>;
  /** Incidents of sensors without a fault, and by the rule that opened them. */
  falseIncidents: number;
  falseRules: Record<string, number>;
}

const T0 = Date.UTC(2026, 0, 1, 12);

/** Runs a fleet through detection and the incident engine on a simulated clock. */
export function runDetection(o: DetectionRunOptions): DetectionRun {
  let now = T0;
  const gen = new FleetGenerator({
    sensors: o.sensors,
    seed: o.seed,
    anomalyRate: o.anomalyRate,
    startTime: T0,
    scenarios: { stuck: o.stuck ?? 0, drift: o.drift ?? 0, dropout: o.dropout ?? 0 },
  });
  const roles = new Map(gen.roles().map((r, i) => [`sensor_${String(i + 1).padStart(4, "0")}`, r]));
  const alerts = new AlertManager(o.policy, () => now);
  const detection = new Detection(alerts, DEFAULT_DETECTOR_CONFIG);
  const run: DetectionRun = {
    sensorHours: (o.sensors * o.durationS) / 3600,
    readings: 0,
    spikes: 0,
    detectors: Object.fromEntries(READING_RULES.map((r) => [r, { fired: 0, onSpikes: 0, spikesCaught: 0 }])),
    spikesWithEvent: 0,
    faults: {},
    falseIncidents: 0,
    falseRules: {},
  };
  const onset = new Map<string, number>();
  const opened = new Map<string, number>();
  const spikeIds = new Set<string>();
  const stepMs = 1000 / o.rate;
  const end = T0 + o.durationS * 1000;
  let nextSilenceCheck = T0 + 1000;
  let offset = 0;
  const collect = () => {
    for (const e of detection.takeEvents()) {
      const spike = spikeIds.delete(e._id);
      if (spike) run.spikesWithEvent++;
      for (const d of e.detectors) {
        const s = run.detectors[d];
        s.fired++;
        if (spike) s.onSpikes++, s.spikesCaught++;
      }
    }
    spikeIds.clear();
    for (const e of alerts.drain().events) {
      if (e.event !== "opened") continue;
      const id = e.alert.sensor_id;
      if (roles.get(id) === "normal") {
        run.falseIncidents++;
        run.falseRules[e.alert.rule] = (run.falseRules[e.alert.rule] ?? 0) + 1;
      } else if (!opened.has(id)) opened.set(id, now);
    }
  };
  const one: Valid[] = [{} as Valid];
  /** Every reading of the simulated fleet is stored for the first time. */
  const STORED = [true];
  for (; now < end; now += stepMs) {
    const t = Math.floor(now);
    const rec: GeneratedRecord = gen.next(t);
    const r = JSON.parse(rec.value as string);
    const id = `${r.sensor_id}:${t}`;
    run.readings++;
    if (rec.spike) run.spikes++, spikeIds.add(id);
    const role = roles.get(r.sensor_id);
    if (!onset.has(r.sensor_id)) {
      if (role === "stuck") onset.set(r.sensor_id, t);
      if (role === "drift" && !rec.spike) {
        const band = describeType(r.sensor_type)!.band!;
        if (r.value > band.max || r.value < band.min) onset.set(r.sensor_id, t);
      }
      if (role === "dropout") onset.set(r.sensor_id, T0 + 30_000);
    }
    one[0] = { reading: r, eventTime: t, offset: offset++, late: false, replay: false, id };
    detection.detect(0, one, STORED, t);
    if (now >= nextSilenceCheck) {
      detection.checkSilence(t, () => true);
      nextSilenceCheck += 1000;
    }
    collect();
  }
  for (const [id, role] of roles) {
    if (role === "normal") continue;
    const f = run.faults[role] ??= { sensors: 0, detected: 0, secondsToDetect: [] };
    f.sensors++;
    const at = opened.get(id);
    const from = onset.get(id);
    if (at === undefined || from === undefined) continue;
    f.detected++;
    f.secondsToDetect.push(Math.max(0, (at - from) / 1000));
  }
  return run;
}

/** Options of `benchDetection`. */
export interface BenchDetectionOptions {
  log: (line: string) => void;
  /** Shorter runs (CI smoke). */
  quick?: boolean;
}

/** The detection measurements, with the targets. */
export async function benchDetection(o: BenchDetectionOptions): Promise<BenchResult[]> {
  const seed = 16;
  const hours = o.quick ? 0.25 : 1;
  o.log(`bench detection: clean fleet, 1000 sensors at 1 reading/s each, ${hours} h simulated ...`);
  const clean = runDetection({ sensors: 1000, rate: 1000, durationS: hours * 3600, seed });
  o.log("bench detection: faulty fleet, 500 sensors, 4 % stuck, 4 % drift, 4 % dropout, 10 min simulated ...");
  const faulty = runDetection({
    sensors: 500,
    rate: 500,
    durationS: 600,
    seed: seed + 1,
    stuck: 0.04,
    drift: 0.04,
    dropout: 0.04,
  });
  const out: BenchResult[] = [];
  const common = { baseline: "ground truth", unit: "", runs: [] as number[] };
  const spikeRecall = clean.spikesWithEvent / clean.spikes;
  out.push(
    await result({
      ...common,
      name: "detection.spike_recall (any detector)",
      unit: "fraction",
      runs: [round(spikeRecall, 4)],
      baseline_runs: [1],
      target: "≥ 0.99",
      met: spikeRecall >= 0.99,
      notes: `${clean.spikes} injected spikes in ${clean.readings} readings`,
    }),
  );
  for (const [d, s] of Object.entries(clean.detectors)) {
    const precision = s.fired ? s.onSpikes / s.fired : NaN;
    const recall = s.spikesCaught / clean.spikes;
    out.push(
      await result({
        ...common,
        name: `detection.${d} (precision / recall on spikes)`,
        unit: "recall",
        runs: [round(recall, 4)],
        baseline_runs: [1],
        notes: `precision ${Number.isFinite(precision) ? round(precision, 4) : "n/a"} over ${s.fired} events`,
      }),
    );
  }
  const perKH = (clean.falseIncidents / clean.sensorHours) * 1000;
  out.push(
    await result({
      ...common,
      name: "detection.false_incidents (per 1,000 sensor-hours, spikes only)",
      unit: "incidents",
      runs: [round(perKH, 3)],
      baseline_runs: [1],
      lowerIsBetter: true,
      target: "≤ 1",
      met: perKH <= 1,
      notes: `${clean.falseIncidents} incidents in ${round(clean.sensorHours, 1)} sensor-hours; ` +
        `${faulty.falseIncidents} on the healthy sensors of the faulty fleet`,
    }),
  );
  for (const [kind, f] of Object.entries(faulty.faults)) {
    const worst = f.secondsToDetect.length ? Math.max(...f.secondsToDetect) : NaN;
    const sorted = [...f.secondsToDetect].sort((a, b) => a - b);
    const med = sorted.length ? sorted[Math.floor(sorted.length / 2)] : NaN;
    out.push(
      await result({
        ...common,
        name: `detection.${kind} (incident recall; worst time to detect)`,
        unit: "s to detect (worst)",
        runs: [round(worst, 1)],
        baseline_runs: [60],
        lowerIsBetter: true,
        target: "every sensor within 60 s",
        met: f.detected === f.sensors && worst <= 60,
        notes: `recall ${f.detected}/${f.sensors}; median ${round(med, 1)} s`,
      }),
    );
  }
  return out;
}
