/** Runs Kafka's own Java performance tools (the baselines) and parses their output. */
import { ensureJars } from "../dev/jars.ts";

/** Runs a Kafka tool class with the cached jars and returns its stdout (throws with stderr on failure). */
export async function runKafkaTool(mainClass: string, args: string[], heap = "512m"): Promise<string> {
  const libs = await ensureJars("kafka");
  const out = await new Deno.Command("java", {
    args: [`-Xmx${heap}`, "-cp", `${libs}/*`, mainClass, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${mainClass} failed (exit ${out.code}): ${new TextDecoder().decode(out.stderr).slice(-1000)}`);
  }
  return stdout;
}

/** The summary line of `ConsumerPerformance`. */
export interface ConsumerPerfResult {
  messages: number;
  /** Messages per second while fetching (excludes the group join). */
  fetchMsgPerSec: number;
  /** Messages per second including the group join. */
  msgPerSec: number;
  rebalanceMs: number;
}

/** Parses `ConsumerPerformance`'s CSV output (header line, then one data line). */
export function parseConsumerPerf(stdout: string): ConsumerPerfResult {
  const lines = stdout.trim().split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const header = lines.findIndex((l) => l.startsWith("start.time"));
  if (header < 0 || !lines[header + 1]) {
    throw new Error(`Unexpected ConsumerPerformance output: ${stdout.slice(0, 300)}`);
  }
  const names = lines[header].split(",").map((s) => s.trim());
  const values = lines[header + 1].split(",").map((s) => s.trim());
  const get = (name: string) => {
    const i = names.indexOf(name);
    if (i < 0) throw new Error(`ConsumerPerformance output lacks ${name}`);
    return Number(values[i]);
  };
  return {
    messages: get("data.consumed.in.nMsg"),
    fetchMsgPerSec: get("fetch.nMsg.sec"),
    msgPerSec: get("nMsg.sec"),
    rebalanceMs: get("rebalance.time.ms"),
  };
}
