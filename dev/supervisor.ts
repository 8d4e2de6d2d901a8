/** Runs the pipeline's programs as child processes with prefixed logs, readiness checks and ordered stop. */
import { PARENT_PID_ENV } from "@iot/shared";
import { ManagedProcess } from "./process.ts";

/** One program the supervisor runs. */
export interface ComponentSpec {
  name: string;
  /** Deno script (relative to the repository root) and its arguments. */
  script: string;
  args?: string[];
  env: Record<string, string>;
  /** URL that answers 200 once the program is ready. */
  healthUrl?: string;
}

/** Options of `Supervisor`. */
export interface SupervisorOptions {
  root: string;
  /** Writes one output line (already prefixed). */
  write: (line: string) => void;
  color: boolean;
}

const COLORS = [36, 35, 33, 32, 34, 31];

/** A set of running programs. */
export class Supervisor {
  readonly #procs = new Map<string, ManagedProcess>();
  #stopping = false;
  #width = 9;
  #failure?: (message: string) => void;
  /** Resolves with a message when a program exits while not stopping. */
  readonly failed: Promise<string>;

  constructor(readonly options: SupervisorOptions) {
    this.failed = new Promise((resolve) => (this.#failure = resolve));
  }

  /** A prefix like `processor | ` (coloured on terminals). */
  prefix(name: string): string {
    const i = [...name].reduce((n, c) => n + c.charCodeAt(0), 0) % COLORS.length;
    const label = name.padEnd(this.#width);
    return this.options.color ? `\x1b[${COLORS[i]}m${label}|\x1b[0m ` : `${label}| `;
  }

  /** Prints a line of the supervisor itself. */
  say(message: string): void {
    for (const line of message.split("\n")) this.options.write(this.prefix("up") + line);
  }

  /** Starts a program and waits until its health URL answers 200 (or it exits, or the deadline). */
  async start(spec: ComponentSpec, readyTimeoutMs: number): Promise<void> {
    const proc = await ManagedProcess.spawn({
      name: spec.name,
      cmd: Deno.execPath(),
      args: ["run", "-A", spec.script, ...(spec.args ?? [])],
      cwd: this.options.root,
      // The program stops itself if this supervisor dies (see stopWithParent).
      env: { ...spec.env, [PARENT_PID_ENV]: String(Deno.pid) },
      onLine: (line) => this.options.write(this.prefix(spec.name) + line),
      // A Ctrl-C reaches the supervisor only, which stops the programs in order (the producer first).
      ownSession: true,
    });
    this.#procs.set(spec.name, proc);
    proc.status.then((s) => {
      if (!this.#stopping) {
        this.#failure?.(`${spec.name} exited with code ${s.code}. Last output:\n${proc.tail(30)}`);
      }
    });
    if (!spec.healthUrl) return;
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (proc.exited) {
        throw new Error(`${spec.name} exited during start-up. Last output:\n${proc.tail(30)}`);
      }
      try {
        const res = await fetch(spec.healthUrl, { signal: AbortSignal.timeout(2000) });
        await res.body?.cancel();
        if (res.ok) return;
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(
      `${spec.name} was not ready at ${spec.healthUrl} within ${readyTimeoutMs / 1000} s. Last output:\n${
        proc.tail(30)
      }`,
    );
  }

  /**
   * Stops programs one by one in the given order (SIGINT for the producer to
   * flush, SIGTERM otherwise), all within `deadlineMs`: a program still running
   * when the time is up is killed (SIGKILL), and so is every later one that does
   * not stop within a second. Resolves with the names of the killed programs.
   */
  async stopAll(order: string[], deadlineMs = 30_000): Promise<string[]> {
    this.#stopping = true;
    const end = Date.now() + deadlineMs;
    const names = [
      ...order.filter((n) => this.#procs.has(n)),
      ...[...this.#procs.keys()].filter((n) => !order.includes(n)),
    ];
    const killed: string[] = [];
    for (const name of names) {
      const proc = this.#procs.get(name)!;
      if (proc.exited) continue;
      this.say(`stopping ${name} ...`);
      proc.signal(name.startsWith("producer") ? "SIGINT" : "SIGTERM");
      const graceMs = Math.max(1000, end - Date.now());
      const timer = setTimeout(() => {
        this.say(`${name} did not stop within the stop deadline; killing it`);
        proc.kill();
      }, graceMs);
      const s = await proc.status;
      clearTimeout(timer);
      if (proc.forced) killed.push(name);
      this.say(`${name} stopped (${proc.forced ? "killed" : `exit ${s.code}`})`);
    }
    return killed;
  }

  /** Kills every running program at once (SIGKILL). */
  async killAll(): Promise<void> {
    this.#stopping = true;
    await Promise.all([...this.#procs.values()].map((p) => p.kill()));
  }

  /** Pids of the running programs. */
  pids(): number[] {
    return [...this.#procs.values()].filter((p) => !p.exited).map((p) => p.pid);
  }
}
