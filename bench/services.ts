/** Starts the pipeline's programs as subprocesses for benchmarks, with health waits and CPU pids. */
import { PARENT_PID_ENV } from "@iot/shared";
import { ManagedProcess } from "../dev/process.ts";

/** Options of `startProgram`. */
export interface ProgramOptions {
  name: string;
  script: string;
  args?: string[];
  env: Record<string, string>;
  healthUrl?: string;
  timeoutMs?: number;
}

const root = new URL("../", import.meta.url).pathname;

/** Starts `deno run -A <script>` and waits for its health URL (if any). */
export async function startProgram(options: ProgramOptions): Promise<ManagedProcess> {
  const proc = await ManagedProcess.spawn({
    name: options.name,
    cmd: Deno.execPath(),
    args: ["run", "-A", options.script, ...(options.args ?? [])],
    cwd: root,
    env: { ...Deno.env.toObject(), LOG_LEVEL: "warn", ...options.env, [PARENT_PID_ENV]: String(Deno.pid) },
  });
  if (!options.healthUrl) return proc;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (proc.exited) throw new Error(`${options.name} exited during start-up:\n${proc.tail(20)}`);
    try {
      const res = await fetch(options.healthUrl, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) return proc;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  await proc.stop(5000);
  throw new Error(`${options.name} not healthy at ${options.healthUrl}:\n${proc.tail(20)}`);
}
