/**
 * A log-bucketed latency histogram (HDR-style): constant memory, about 1 %
 * relative error on percentiles, cheap `record(value, count)`.
 */

const MIN_VALUE = 0.001;
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = Math.ceil(Math.log(1e7 / MIN_VALUE) / LOG_GROWTH) + 2;

/** Percentiles of a histogram, in the unit of the recorded values. */
export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Records non-negative values from 0.001 up to 10 000 000 (larger ones count in the top bucket). */
export class LogHistogram {
  #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #max = 0;

  /** Records `value` `count` times. */
  record(value: number, count = 1): void {
    if (!(count > 0) || !Number.isFinite(value)) return;
    const v = value < 0 ? 0 : value;
    this.#counts[bucketOf(v)] += count;
    this.#count += count;
    this.#sum += v * count;
    if (v > this.#max) this.#max = v;
  }

  /** Number of recorded values. */
  get count(): number {
    return this.#count;
  }

  /** Largest recorded value. */
  get max(): number {
    return this.#max;
  }

  /** The value below which `p` percent of the recorded values lie (0 when empty). */
  percentile(p: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      if (seen >= rank) return i === BUCKETS - 1 ? this.#max : Math.min(this.#max, valueOf(i));
    }
    return this.#max;
  }

  /** p50, p95, p99, max and mean. */
  summary(): Percentiles {
    return {
      count: this.#count,
      p50: this.percentile(50),
      p95: this.percentile(95),
      p99: this.percentile(99),
      max: this.#max,
      mean: this.#count ? this.#sum / this.#count : 0,
    };
  }

  /** Adds another histogram's values to this one. */
  add(other: LogHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.#counts[i] += other.#counts[i];
    this.#count += other.#count;
    this.#sum += other.#sum;
    if (other.#max > this.#max) this.#max = other.#max;
  }

  /** Forgets every value. */
  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#max = 0;
  }
}

function bucketOf(v: number): number {
  if (v <= MIN_VALUE) return 0;
  return Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(v / MIN_VALUE) / LOG_GROWTH));
}

/** Upper edge of bucket `i`: every value in it is at most this, and more than the previous edge. */
function valueOf(i: number): number {
  return MIN_VALUE * GROWTH ** i;
}
