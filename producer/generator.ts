/**
 * The simulated sensor fleet: realistic readings with injected anomalies and
 * optional fault scenarios (stuck, drift, dropout, out-of-order and late events,
 * duplicates, malformed payloads), reproducible from a seed.
 */
import { Buffer } from "node:buffer";
import {
  type ReadingStatus,
  SENSOR_RANGES,
  sensorId,
  type SensorProfile,
  sensorProfile,
  type SensorType,
} from "@iot/shared";
import { Random } from "./random.ts";

/** Fault scenarios; each is off (0) by default. */
export interface ScenarioOptions {
  /** Fraction of sensors stuck at one flat value. */
  stuck?: number;
  /** Fraction of sensors whose value drifts steadily upwards, out of the normal band. */
  drift?: number;
  /** Fraction of sensors that go silent for `dropoutSeconds` out of every 2 × `dropoutSeconds`. */
  dropout?: number;
  /** Length of the silent and of the online periods of dropout sensors, in seconds (default 30). */
  dropoutSeconds?: number;
  /** Probability that a reading's event time lies 1–5 s in the past (out of order, within usual lateness). */
  outOfOrder?: number;
  /** Probability that a reading's event time lies 60–300 s in the past (late event). */
  late?: number;
  /** Probability that a reading is sent a second time, identical (same `seq`). */
  duplicates?: number;
  /** Probability that a record is a malformed payload instead of a reading (for the dead-letter path). */
  malformed?: number;
}

/** Options of the fleet generator. */
export interface GeneratorOptions {
  /** Number of sensors, `sensor_0001` … */
  sensors: number;
  /** Seed of the random stream: the same seed and clock give the same records. */
  seed: number;
  /** Probability of an injected anomaly spike per reading (default 0.05). */
  anomalyRate?: number;
  scenarios?: ScenarioOptions;
  /** Start of the run in epoch ms (dropout periods count from it); default: first `next` call. */
  startTime?: number;
  /**
   * Nanoseconds (0–999999) below the millisecond stamped on every reading
   * (shifted late and out-of-order ones get this plus 500000): two producers of
   * the same sensor ids then never send one instant. Default: random.
   */
  phaseNs?: number;
}

/** What a generated record is. */
export type RecordKind = "reading" | "duplicate" | "malformed";

/** Kinds of malformed payloads, named after the processor's reject reasons they should cause. */
export const MALFORMED_KINDS = ["invalid_json", "invalid_schema", "out_of_range", "too_large", "invalid_utf8"] as const;

/** A kind of malformed payload. */
export type MalformedKind = typeof MALFORMED_KINDS[number];

/** One record to publish. */
export interface GeneratedRecord {
  /** Kafka key: the sensor id. */
  key: string;
  /** Kafka value: the JSON text, or bytes for malformed payloads that are not text. */
  value: string | Uint8Array;
  kind: RecordKind;
  sensorType: SensorType;
  /** Generated status; `malformed` for malformed payloads. */
  status: ReadingStatus | "malformed";
  /** Per-sensor sequence number (-1 for malformed payloads). */
  seq: number;
  /** For malformed payloads: which rule they break. */
  malformed?: MalformedKind;
  /** Ground truth: the generator injected an anomaly spike into this reading. */
  spike?: boolean;
}

/** Fault role of a sensor, fixed for the run. */
type Role = "normal" | "stuck" | "drift" | "dropout";

interface SensorState {
  profile: SensorProfile;
  role: Role;
  /** JSON text before the value. */
  head: string;
  /** JSON text from after the value to the timestamp's opening quote: `,"location":"…","timestamp":"`. */
  middle: string;
  /** JSON text of the metadata up to the battery level's value. */
  tail: string;
  decimals: number;
  seq: number;
  /** Measurement time of the sensor's last reading, epoch ms: the next is later. */
  lastAt: number;
  /** Mean-reverting level inside the normal band. */
  level: number;
  /** Flat value of a stuck sensor. */
  stuckValue: number;
  /** Accumulated drift offset. */
  drift: number;
  battery: number;
}

const DAY_MS = 86_400_000;

/** Generates the fleet's records, round-robin over the sensors that are online. */
export class FleetGenerator {
  readonly sensors: number;
  readonly seed: number;
  readonly anomalyRate: number;
  readonly scenarios: Readonly<Required<ScenarioOptions>>;
  #rng: Random;
  #states: SensorState[];
  #cursor = 0;
  #pendingDuplicate: GeneratedRecord | undefined;
  #startTime: number | undefined;
  /** Six digits below the millisecond (nanoseconds) stamped on in-order readings, and on shifted ones. */
  readonly #phase: string;
  readonly #shiftedPhase: string;

  constructor(options: GeneratorOptions) {
    if (!Number.isSafeInteger(options.sensors) || options.sensors < 1) {
      throw new RangeError(`Sensor count must be a positive integer, got ${options.sensors}`);
    }
    this.sensors = options.sensors;
    this.seed = options.seed >>> 0;
    this.anomalyRate = options.anomalyRate ?? 0.05;
    const s = options.scenarios ?? {};
    this.scenarios = {
      stuck: s.stuck ?? 0,
      drift: s.drift ?? 0,
      dropout: s.dropout ?? 0,
      dropoutSeconds: s.dropoutSeconds ?? 30,
      outOfOrder: s.outOfOrder ?? 0,
      late: s.late ?? 0,
      duplicates: s.duplicates ?? 0,
      malformed: s.malformed ?? 0,
    };
    for (const [name, p] of Object.entries({ ...this.scenarios, dropoutSeconds: 0, anomalyRate: this.anomalyRate })) {
      if (!(p >= 0 && p <= 1)) throw new RangeError(`Scenario ${name} must be a probability from 0 to 1, got ${p}`);
    }
    if (!(this.scenarios.dropoutSeconds > 0)) {
      throw new RangeError(`dropoutSeconds must be positive, got ${this.scenarios.dropoutSeconds}`);
    }
    this.#startTime = options.startTime;
    // Not from the seeded generator: two producers of the same seed and sensor ids must not stamp one instant.
    const phase = options.phaseNs ?? crypto.getRandomValues(new Uint32Array(1))[0] % 1_000_000;
    if (!Number.isInteger(phase) || phase < 0 || phase >= 1_000_000) {
      throw new RangeError(`phaseNs must be an integer from 0 to 999999, got ${phase}`);
    }
    this.#phase = String(phase).padStart(6, "0");
    this.#shiftedPhase = String((phase + 500_000) % 1_000_000).padStart(6, "0");
    this.#rng = new Random(this.seed);
    const roles = this.#assignRoles();
    this.#states = roles.map((role, i) => this.#initState(i + 1, role));
  }

  /** The fault role of every sensor, in id order (ground truth for tests and the detection bench). */
  roles(): Role[] {
    return this.#states.map((s) => s.role);
  }

  /** Next per-sensor sequence numbers, i.e. how many readings each sensor has produced, by sensor id. */
  sequences(): Map<string, number> {
    return new Map(this.#states.map((s) => [s.profile.sensorId, s.seq]));
  }

  #assignRoles(): Role[] {
    const n = this.sensors;
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.#rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    const roles: Role[] = new Array(n).fill("normal");
    const counts: [Role, number][] = [
      ["stuck", Math.round(this.scenarios.stuck * n)],
      ["drift", Math.round(this.scenarios.drift * n)],
      // At least one sensor always stays online.
      ["dropout", Math.min(Math.round(this.scenarios.dropout * n), n - 1)],
    ];
    let k = 0;
    for (const [role, count] of counts) {
      for (let c = 0; c < count && k < n; c++) roles[order[k++]] = role;
    }
    return roles;
  }

  #initState(index: number, role: Role): SensorState {
    const profile = sensorProfile(sensorId(index));
    const range = SENSOR_RANGES[profile.sensorType];
    const center = (range.normalMin + range.normalMax) / 2;
    const width = range.normalMax - range.normalMin;
    return {
      profile,
      role,
      head: `{"sensor_id":${JSON.stringify(profile.sensorId)},"sensor_type":${
        JSON.stringify(profile.sensorType)
      },"value":`,
      middle: `,"location":${JSON.stringify(profile.location)},"timestamp":"`,
      tail: `"unit":${JSON.stringify(profile.unit)},"sensor_model":${JSON.stringify(profile.model)},"battery_level":`,
      decimals: width < 2 ? 3 : 2,
      seq: 0,
      lastAt: Number.NEGATIVE_INFINITY,
      level: center + this.#rng.uniform(-0.25, 0.25) * width,
      stuckValue: round(center + this.#rng.uniform(-0.3, 0.3) * width, 2),
      drift: 0,
      battery: round(this.#rng.uniform(60, 100), 1),
    };
  }

  /** Whether a sensor sends at event time `now` (dropout sensors are silent every other period). */
  #online(state: SensorState, now: number): boolean {
    if (state.role !== "dropout") return true;
    const period = Math.floor((now - (this.#startTime ?? now)) / (this.scenarios.dropoutSeconds * 1000));
    return period % 2 === 0;
  }

  /**
   * The next record, measured at `now` (epoch ms). A sensor's readings get
   * strictly increasing event times: a reading due at or before its sensor's
   * previous one is measured 1 ms after it (late and out-of-order scenarios
   * then shift the event time back on purpose).
   */
  next(now: number): GeneratedRecord {
    this.#startTime ??= now;
    if (this.#pendingDuplicate) {
      const dup = this.#pendingDuplicate;
      this.#pendingDuplicate = undefined;
      return dup;
    }
    let state = this.#states[this.#cursor];
    for (let tries = 0; !this.#online(state, now) && tries < this.sensors; tries++) {
      this.#cursor = (this.#cursor + 1) % this.sensors;
      state = this.#states[this.#cursor];
    }
    this.#cursor = (this.#cursor + 1) % this.sensors;
    const rng = this.#rng;
    if (rng.chance(this.scenarios.malformed)) return this.#malformed(state, now);
    const record = this.#reading(state, now);
    if (rng.chance(this.scenarios.duplicates)) this.#pendingDuplicate = { ...record, kind: "duplicate" };
    return record;
  }

  /**
   * Fills `out` with `count` records measured at `at`: one time for all, or
   * the scheduled time of each (`at(i)` for the i-th record of the call).
   */
  fill(out: GeneratedRecord[], count: number, at: number | ((i: number) => number)): GeneratedRecord[] {
    if (typeof at === "number") { for (let i = 0; i < count; i++) out.push(this.next(at)); }
    else for (let i = 0; i < count; i++) out.push(this.next(at(i)));
    return out;
  }

  #reading(state: SensorState, now: number): GeneratedRecord {
    const rng = this.#rng;
    const type = state.profile.sensorType;
    const range = SENSOR_RANGES[type];
    const width = range.normalMax - range.normalMin;
    const center = (range.normalMin + range.normalMax) / 2;
    // Mean-reverting walk inside the band, plus a daily cycle for temperature.
    state.level += 0.1 * (center - state.level) + 0.04 * width * rng.gaussian();
    let value = state.level + 0.02 * width * rng.gaussian();
    if (type === "temperature") {
      value += 0.3 * width * Math.sin((2 * Math.PI * ((now % DAY_MS) / DAY_MS * 24 - 9)) / 24);
    }
    value = clamp(value, range.normalMin, range.normalMax);
    let status: ReadingStatus = "normal";
    if (state.role === "stuck") {
      value = state.stuckValue;
    } else if (state.role === "drift") {
      state.drift += 0.01 * width;
      value = clamp(value + state.drift, range.min, range.max);
    }
    const spike = state.role !== "stuck" && rng.chance(this.anomalyRate);
    if (spike) {
      // A spike outside the normal band, kept within the physical range.
      const up = range.max - range.normalMax;
      const down = range.normalMin - range.min;
      value = rng.next() < up / (up + down)
        ? rng.uniform(range.normalMax + 0.1 * up, range.max)
        : rng.uniform(range.min, range.normalMin - 0.1 * down);
    }
    value = clamp(round(value, state.decimals), range.min, range.max);
    if (value < range.normalMin || value > range.normalMax) status = "anomaly";

    const measuredAt = Math.max(Math.floor(now), state.lastAt + 1);
    state.lastAt = measuredAt;
    let eventTime = measuredAt;
    let phase = this.#phase;
    if (rng.chance(this.scenarios.late)) eventTime -= rng.uniform(60_000, 300_000);
    else if (rng.chance(this.scenarios.outOfOrder)) eventTime -= rng.uniform(1_000, 5_000);
    // A reading shifted back may land on the millisecond of an earlier one: its own phase keeps its id apart.
    if (eventTime !== measuredAt) phase = this.#shiftedPhase;
    state.battery = Math.max(5, state.battery - 0.001);
    const seq = state.seq++;
    const value_ = state.head + value + state.middle + new Date(Math.floor(eventTime)).toISOString().slice(0, 23) +
      phase + "Z" +
      `","status":"${status}","seq":${seq},"metadata":{` + state.tail + round(state.battery, 1) + "}}";
    return { key: state.profile.sensorId, value: value_, kind: "reading", sensorType: type, status, seq, spike };
  }

  #malformed(state: SensorState, now: number): GeneratedRecord {
    const rng = this.#rng;
    const kind = MALFORMED_KINDS[rng.int(MALFORMED_KINDS.length)];
    const p = state.profile;
    const range = SENSOR_RANGES[p.sensorType];
    const base = {
      sensor_id: p.sensorId,
      sensor_type: p.sensorType,
      value: round(range.normalMin, 2),
      location: p.location,
      timestamp: new Date(now).toISOString(),
      status: "normal",
      seq: state.seq,
      metadata: { unit: p.unit, sensor_model: p.model, battery_level: round(state.battery, 1) },
    };
    let value: string | Uint8Array;
    switch (kind) {
      case "invalid_json":
        value = JSON.stringify(base).slice(0, -7);
        break;
      case "invalid_schema":
        value = JSON.stringify({ ...base, status: "broken", seq: "x" });
        break;
      case "out_of_range":
        value = JSON.stringify({ ...base, value: range.max + (range.max - range.min) });
        break;
      case "too_large":
        value = JSON.stringify({ ...base, padding: "x".repeat(20_000) });
        break;
      case "invalid_utf8": {
        const bytes = Buffer.from(JSON.stringify(base));
        bytes[bytes.indexOf(0x22, 5) + 1] = 0xff; // a byte that never occurs in UTF-8
        value = bytes;
        break;
      }
    }
    return {
      key: p.sensorId,
      value,
      kind: "malformed",
      sensorType: p.sensorType,
      status: "malformed",
      seq: -1,
      malformed: kind,
    };
  }
}

function clamp(v: number, min: number, max: number): number {
  return v < min ? min : v > max ? max : v;
}

function round(v: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(v * f) / f;
}
