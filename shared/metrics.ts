/** A small Prometheus text-format registry: counters, gauges and histograms with labels. */

type Labels = Record<string, string | number>;

function labelKey(labels?: Labels): string {
  if (!labels) return "";
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  return "{" + keys.map((k) => `${k}="${escapeLabel(String(labels[k]))}"`).join(",") + "}";
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

interface Metric {
  render(): string;
}

/** A monotonically increasing counter. */
export class Counter implements Metric {
  #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  /** Adds `n` (default 1). */
  inc(n = 1, labels?: Labels): void {
    const k = labelKey(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + n);
  }
  /** Current value for the labels. */
  get(labels?: Labels): number {
    return this.#values.get(labelKey(labels)) ?? 0;
  }
  render(): string {
    let s = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    if (this.#values.size === 0) s += `${this.name} 0\n`;
    for (const [k, v] of this.#values) s += `${this.name}${k} ${v}\n`;
    return s;
  }
}

/** A value that goes up and down. */
export class Gauge implements Metric {
  #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  /** Sets the value for the labels. */
  set(v: number, labels?: Labels): void {
    this.#values.set(labelKey(labels), v);
  }
  /** Current value for the labels. */
  get(labels?: Labels): number {
    return this.#values.get(labelKey(labels)) ?? 0;
  }
  /** Forgets all label sets (e.g. partitions no longer assigned). */
  reset(): void {
    this.#values.clear();
  }
  render(): string {
    let s = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n`;
    for (const [k, v] of this.#values) s += `${this.name}${k} ${v}\n`;
    return s;
  }
}

/** Default histogram buckets in seconds. */
export const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A cumulative histogram (no labels). */
export class Histogram implements Metric {
  #counts: number[];
  #sum = 0;
  #count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: number[] = DEFAULT_BUCKETS) {
    this.#counts = new Array(buckets.length).fill(0);
  }
  /** Records one observation. */
  observe(v: number): void {
    this.#sum += v;
    this.#count++;
    for (let i = 0; i < this.buckets.length; i++) {
      if (v <= this.buckets[i]) {
        this.#counts[i]++;
        break;
      }
    }
  }
  /** Number of observations. */
  get count(): number {
    return this.#count;
  }
  render(): string {
    let s = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    let cum = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cum += this.#counts[i];
      s += `${this.name}_bucket{le="${this.buckets[i]}"} ${cum}\n`;
    }
    s +=
      `${this.name}_bucket{le="+Inf"} ${this.#count}\n${this.name}_sum ${this.#sum}\n${this.name}_count ${this.#count}\n`;
    return s;
  }
}

/** A set of metrics rendered together at `/metrics`. */
export class Registry {
  #metrics: Metric[] = [];
  /** Registers and returns a counter. */
  counter(name: string, help: string): Counter {
    const m = new Counter(name, help);
    this.#metrics.push(m);
    return m;
  }
  /** Registers and returns a gauge. */
  gauge(name: string, help: string): Gauge {
    const m = new Gauge(name, help);
    this.#metrics.push(m);
    return m;
  }
  /** Registers and returns a histogram. */
  histogram(name: string, help: string, buckets?: number[]): Histogram {
    const m = new Histogram(name, help, buckets);
    this.#metrics.push(m);
    return m;
  }
  /** The Prometheus text exposition of every metric. */
  render(): string {
    return this.#metrics.map((m) => m.render()).join("");
  }
}

/** Content type of the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
