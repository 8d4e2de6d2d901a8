/** CPU time of processes from /proc (Linux), to report CPU cost per throughput. */

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** User + system CPU seconds a process has used so far, or undefined when it is gone. */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces) start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Samples the CPU time of named processes between `start()` and `stop()`. */
export class CpuMeter {
  #start = new Map<string, number>();
  #t0 = 0;
  constructor(readonly pids: Record<string, number | undefined>) {}

  /** Takes the starting sample. */
  async start(): Promise<void> {
    this.#t0 = performance.now();
    for (const [name, pid] of Object.entries(this.pids)) {
      const s = pid ? await cpuSeconds(pid) : undefined;
      if (s !== undefined) this.#start.set(name, s);
    }
  }

  /** Cores used per process over the interval (1.0 = one core fully busy). */
  async stop(): Promise<Record<string, number>> {
    const elapsed = (performance.now() - this.#t0) / 1000;
    const out: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const s = pid ? await cpuSeconds(pid) : undefined;
      const s0 = this.#start.get(name);
      if (s !== undefined && s0 !== undefined) out[name] = Math.round(((s - s0) / elapsed) * 1000) / 1000;
    }
    return out;
  }
}
