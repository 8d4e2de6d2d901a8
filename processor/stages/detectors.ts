/**
 * Per-sensor anomaly detectors. Each reading is checked by every rule; a rule
 * returns a `Finding` (value, baseline, threshold, severity, explanation) when
 * it fires and `undefined` otherwise. Silence is checked by a timer instead.
 */
import {
  type AlertRule,
  BUILTIN_SENSOR_TYPES,
  describeType,
  type SensorTypeDescription,
  type SensorTypes,
  type Severity,
} from "@iot/shared";

/** Detector settings. */
export interface DetectorConfig {
  /** EWMA smoothing factor of the z-score baseline (0..1). */
  ewmaAlpha: number;
  /** Readings before the z-score rule may fire. */
  zscoreWarmup: number;
  /** |z| from which the z-score rule fires (warning) and is critical. */
  zscoreWarning: number;
  zscoreCritical: number;
  /** Rate of change limit in normal-band widths per second. */
  rateBandsPerSecond: number;
  /** Identical consecutive readings that make a sensor "stuck". */
  stuckReadings: number;
  /**
   * Seconds without a reading before the silence rule fires, at most: a sensor whose usual
   * interval is known is silent after `silenceIntervals` of its intervals, and not before
   * `silenceMinSeconds`.
   */
  silenceSeconds: number;
  silenceIntervals: number;
  silenceMinSeconds: number;
  /** Distance beyond the normal band, in band widths, from which a threshold alert is critical. */
  criticalBandFraction: number;
}

/** Default detector settings. */
export const DEFAULT_DETECTOR_CONFIG: DetectorConfig = {
  ewmaAlpha: 0.05,
  zscoreWarmup: 30,
  zscoreWarning: 4,
  zscoreCritical: 6,
  rateBandsPerSecond: 1,
  stuckReadings: 20,
  silenceSeconds: 60,
  silenceIntervals: 10,
  silenceMinSeconds: 10,
  criticalBandFraction: 0.5,
};

/** Why a rule fired. */
export interface Finding {
  rule: AlertRule;
  severity: Severity;
  value: number;
  threshold: number;
  baseline: number;
  message: string;
}

/** Detector state of one sensor. */
export interface SensorState {
  sensorType: string;
  /** The type's description; undefined for a type nobody described (no band: threshold and rate rules skip). */
  desc?: SensorTypeDescription;
  n: number;
  ewmaMean: number;
  ewmaVar: number;
  lastValue: number;
  lastTime: number;
  /**
   * Value and time the rate of change is measured from: the last reading that
   * did not jump, so that the return from a single spike is not a second jump.
   */
  rateValue: number;
  rateTime: number;
  /**
   * Readings in a row that jumped from `rateValue` and agree with each other (each within the rate limit of the
   * one before): after 3, the new level becomes the reference. Scattered spikes never move it.
   */
  jumps: number;
  sameCount: number;
}

/** Fresh state for a sensor of `sensorType`, described by `types` (built-in types by default). */
export function newSensorState(sensorType: string, types: SensorTypes = BUILTIN_SENSOR_TYPES): SensorState {
  return {
    sensorType,
    desc: describeType(sensorType, types),
    n: 0,
    ewmaMean: 0,
    ewmaVar: 0,
    lastValue: NaN,
    lastTime: NaN,
    rateValue: NaN,
    rateTime: NaN,
    jumps: 0,
    sameCount: 0,
  };
}

/** Unit symbol of a description, "" when it has none. */
const unitOf = (desc: SensorTypeDescription | undefined): string => desc?.unit ?? "";

const fmt = (v: number): string => String(Math.round(v * 1000) / 1000);

/**
 * Static threshold: the value is outside the type's normal band. A type
 * without a band (not described by `types`) never fires this rule.
 */
export function checkThreshold(
  type: string,
  value: number,
  cfg: DetectorConfig,
  types: SensorTypes = BUILTIN_SENSOR_TYPES,
): Finding | undefined {
  const desc = describeType(type, types);
  const band = desc?.band;
  if (!band) return undefined;
  const unit = unitOf(desc);
  const width = band.max - band.min;
  const mid = (band.min + band.max) / 2;
  if (value >= band.min && value <= band.max) return undefined;
  const above = value > band.max;
  const edge = above ? band.max : band.min;
  const beyond = Math.abs(value - edge);
  const severity: Severity = beyond >= width * cfg.criticalBandFraction ? "critical" : "warning";
  return {
    rule: "threshold",
    severity,
    value,
    threshold: edge,
    baseline: mid,
    message: `${type} ${fmt(value)} ${unit} is ${
      above ? "above" : "below"
    } the normal band ${band.min}–${band.max} ${unit}`,
  };
}

/**
 * Checks one reading against the z-score, rate-of-change and stuck rules and
 * updates the sensor's state (the baseline is updated after the check).
 */
export function checkReading(state: SensorState, value: number, t: number, cfg: DetectorConfig): Finding[] {
  const out: Finding[] = [];
  const band = state.desc?.band;
  const r = { unit: unitOf(state.desc) };
  // Without a band (an undescribed type) the scale comes from the values themselves.
  const width = band ? band.max - band.min : undefined;

  // Rolling z-score against the EWMA baseline; a floor on the deviation keeps
  // a perfectly flat history from turning noise into alerts.
  if (state.n >= cfg.zscoreWarmup) {
    const floor = width !== undefined ? width * 0.01 : Math.max(Math.abs(state.ewmaMean) * 0.001, 1e-6);
    const sd = Math.max(Math.sqrt(state.ewmaVar), floor);
    const z = (value - state.ewmaMean) / sd;
    if (Math.abs(z) >= cfg.zscoreWarning) {
      const limit = cfg.zscoreWarning * sd;
      out.push({
        rule: "zscore",
        severity: Math.abs(z) >= cfg.zscoreCritical ? "critical" : "warning",
        value,
        threshold: z > 0 ? state.ewmaMean + limit : state.ewmaMean - limit,
        baseline: state.ewmaMean,
        message: `${state.sensorType} ${fmt(value)} ${r.unit} is ${fmt(z)} standard deviations from its rolling mean ${
          fmt(state.ewmaMean)
        } (limit ${cfg.zscoreWarning})`,
      });
    }
  }

  let jumped = false;
  if (width !== undefined && state.n > 0 && Number.isFinite(state.rateTime)) {
    const dt = Math.max((t - state.rateTime) / 1000, 1);
    const rate = Math.abs(value - state.rateValue) / dt;
    const limit = width * cfg.rateBandsPerSecond;
    if (rate > limit) {
      jumped = true;
      out.push({
        rule: "rate_of_change",
        severity: rate > 2 * limit ? "critical" : "warning",
        value,
        threshold: limit,
        baseline: state.rateValue,
        message: `${state.sensorType} changed from ${fmt(state.rateValue)} to ${fmt(value)} ${r.unit}: ${
          fmt(rate)
        } ${r.unit}/s exceeds ${fmt(limit)} ${r.unit}/s`,
      });
    }
  }

  state.sameCount = state.n > 0 && value === state.lastValue ? state.sameCount + 1 : 1;
  if (state.sameCount >= cfg.stuckReadings) {
    out.push({
      rule: "stuck",
      severity: "warning",
      value,
      threshold: cfg.stuckReadings,
      baseline: value,
      message: `${state.sensorType} reported ${
        fmt(value)
      } ${r.unit} ${state.sameCount} times in a row (limit ${cfg.stuckReadings})`,
    });
  }

  // Update the baseline (EWMA mean and variance); the first reading seeds it.
  if (state.n === 0) {
    state.ewmaMean = value;
    state.ewmaVar = 0;
  } else {
    const diff = value - state.ewmaMean;
    const incr = cfg.ewmaAlpha * diff;
    state.ewmaMean += incr;
    state.ewmaVar = (1 - cfg.ewmaAlpha) * (state.ewmaVar + diff * incr);
  }
  if (!jumped) state.jumps = 0;
  else if (state.jumps > 0 && width !== undefined && agrees(value, t, state, width * cfg.rateBandsPerSecond)) {
    state.jumps++;
  } else state.jumps = 1;
  state.n++;
  state.lastValue = value;
  state.lastTime = t;
  if (!jumped || state.jumps >= 3) {
    state.rateValue = value;
    state.rateTime = t;
    state.jumps = 0;
  }
  return out;
}

/** Whether `value` at `t` is within the rate limit of the sensor's previous reading (a level, not a scatter). */
function agrees(value: number, t: number, state: SensorState, limit: number): boolean {
  const dt = Math.max((t - state.lastTime) / 1000, 1);
  return Math.abs(value - state.lastValue) / dt <= limit;
}

/**
 * Silence: no reading for longer than the limit (wall clock). The limit is
 * `silenceSeconds`, or, when the sensor's usual interval `intervalMs` is
 * known, `silenceIntervals` of them, from `silenceMinSeconds` up to `silenceSeconds`.
 */
export function checkSilence(
  type: string,
  silentMs: number,
  cfg: DetectorConfig,
  intervalMs?: number,
): Finding | undefined {
  const limit = silenceLimitSeconds(cfg, intervalMs);
  const s = silentMs / 1000;
  if (s < limit) return undefined;
  return {
    rule: "silence",
    severity: s >= 5 * limit ? "critical" : "warning",
    value: Math.round(s),
    threshold: limit,
    baseline: limit,
    message: `No ${type} reading for ${Math.round(s)} s (limit ${limit} s)`,
  };
}

/** The silence limit in seconds for a sensor with usual interval `intervalMs` (unknown: `silenceSeconds`). */
export function silenceLimitSeconds(cfg: DetectorConfig, intervalMs?: number): number {
  if (intervalMs === undefined || !Number.isFinite(intervalMs)) return cfg.silenceSeconds;
  const adaptive = Math.ceil((cfg.silenceIntervals * intervalMs) / 1000);
  return Math.min(cfg.silenceSeconds, Math.max(cfg.silenceMinSeconds, adaptive));
}
