/** The benchmark result format, machine description and report writing. */

/** Where the machine ran. */
export interface MachineInfo {
  cores: number;
  memory_gib: number;
  os: string;
  cpu: string;
  deno: string;
  java: string;
}

/** One measurement: ours against a baseline measured in the same session. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline: string;
  baseline_value: number;
  /** value / baseline_value (for latencies: baseline / value, so > 1 is always "better than baseline"). */
  ratio: number;
  /** Every run's value (median is `value`). */
  runs: number[];
  baseline_runs?: number[];
  machine: MachineInfo;
  /** Settings and caveats (e.g. which MongoDB backend ran). */
  notes?: string;
  /** Target from the issue, if any, and whether it was met. */
  target?: string;
  met?: boolean;
}

/** Median of a non-empty list. */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

let machine: MachineInfo | undefined;

/** Describes this machine (cached). */
export async function machineInfo(): Promise<MachineInfo> {
  if (machine) return machine;
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const javaOut = await new Deno.Command("java", { args: ["-version"], stderr: "piped", stdout: "null" }).output()
    .then((o) => new TextDecoder().decode(o.stderr).split("\n")[0]).catch(() => "none");
  machine = {
    cores: navigator.hardwareConcurrency,
    memory_gib: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? Deno.build.arch,
    deno: Deno.version.deno,
    java: javaOut.trim(),
  };
  return machine;
}

/** Builds a result from runs (higher is better unless `lowerIsBetter`). */
export async function result(
  fields: Omit<BenchResult, "value" | "baseline_value" | "ratio" | "machine"> & { lowerIsBetter?: boolean },
): Promise<BenchResult> {
  const { lowerIsBetter, ...rest } = fields;
  const value = round(median(fields.runs));
  const baselineValue = round(median(fields.baseline_runs ?? []));
  const ratio = lowerIsBetter ? baselineValue / value : value / baselineValue;
  return {
    ...rest,
    value,
    baseline_value: baselineValue,
    ratio: Number.isFinite(ratio) ? round(ratio, 3) : NaN,
    machine: await machineInfo(),
  };
}

/** Rounds to `digits` significant decimals for readable reports. */
export function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Renders results as a Markdown table. */
export function markdown(results: BenchResult[], date = new Date()): string {
  const m = results[0]?.machine;
  const lines = [
    `# Benchmark results (${date.toISOString().slice(0, 16).replace("T", " ")} UTC)`,
    "",
    m ? `Machine: ${m.cores} cores, ${m.memory_gib} GiB, ${m.cpu}, ${m.os}, Deno ${m.deno}, ${m.java}` : "",
    "",
    "| Measurement | Ours | Baseline | Baseline value | Ratio | Target | Runs | Notes |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of results) {
    const target = r.target ? `${r.target} ${r.met ? "✅" : "❌"}` : "";
    lines.push(
      `| ${r.name} | ${r.value} ${r.unit} | ${r.baseline} | ${r.baseline_value} ${r.unit} | ${r.ratio}× | ${target} | ${
        r.runs.join(", ")
      } | ${r.notes ?? ""} |`,
    );
  }
  return lines.join("\n") + "\n";
}

/** Writes `bench/results/latest.json` and `latest.md` (not committed) and returns their paths. */
export async function writeResults(results: BenchResult[]): Promise<string[]> {
  const dir = new URL("./results/", import.meta.url).pathname;
  await Deno.mkdir(dir, { recursive: true });
  const json = `${dir}latest.json`;
  const md = `${dir}latest.md`;
  await Deno.writeTextFile(json, JSON.stringify(results, null, 2) + "\n");
  await Deno.writeTextFile(md, markdown(results));
  return [json, md];
}
