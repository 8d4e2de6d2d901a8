/** A child process with captured output, a log tail and orderly stop. */

/** Options of `ManagedProcess.spawn`. */
export interface SpawnOptions {
  name: string;
  cmd: string;
  args: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** Called with every output line (e.g. to print it with a prefix). */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** File that receives all output. */
  logFile?: string;
  /** Keep stdin open as a pipe: the child can watch it to notice its parent's death. */
  stdinPipe?: boolean;
  /**
   * Run the child in a session of its own (via `setsid`), so that a Ctrl-C in
   * the terminal reaches only its parent, which then stops it in order.
   */
  ownSession?: boolean;
}

let setsidPath: string | null | undefined;

function findSetsid(): string | null {
  if (setsidPath !== undefined) return setsidPath;
  setsidPath = null;
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      if (Deno.statSync(`${dir}/setsid`).isFile) {
        setsidPath = `${dir}/setsid`;
        break;
      }
    } catch { /* not here */ }
  }
  return setsidPath;
}

const TAIL = 200;

/** A running child process. */
export class ManagedProcess {
  readonly #child: Deno.ChildProcess;
  readonly #tail: string[] = [];
  readonly #lineWaiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  readonly #log?: Deno.FsFile;
  readonly #stdin?: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pumps: Promise<void>[];
  readonly status: Promise<Deno.CommandStatus>;
  #exited = false;
  #forced = false;

  private constructor(readonly options: SpawnOptions, log?: Deno.FsFile) {
    this.#log = log;
    const setsid = options.ownSession ? findSetsid() : null;
    this.#child = new Deno.Command(setsid ?? options.cmd, {
      args: setsid ? [options.cmd, ...options.args] : options.args,
      cwd: options.cwd,
      env: options.env,
      stdin: options.stdinPipe ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (options.stdinPipe) this.#stdin = this.#child.stdin.getWriter();
    this.#pumps = [this.#pump(this.#child.stdout, "stdout"), this.#pump(this.#child.stderr, "stderr")];
    this.status = this.#child.status.then(async (s) => {
      this.#exited = true;
      await Promise.allSettled(this.#pumps);
      try {
        this.#log?.close();
      } catch { /* already closed */ }
      return s;
    });
  }

  /** Starts a process. */
  static async spawn(options: SpawnOptions): Promise<ManagedProcess> {
    const log = options.logFile
      ? await Deno.open(options.logFile, { create: true, append: true, write: true })
      : undefined;
    return new ManagedProcess(options, log);
  }

  /** Process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Whether the process has ended. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Whether this process had to be killed (SIGKILL) instead of stopping by itself. */
  get forced(): boolean {
    return this.#forced;
  }

  /** The last lines of output. */
  tail(n = 40): string {
    return this.#tail.slice(-n).join("\n");
  }

  /** Resolves with the first output line matching `re` (including lines already seen). */
  waitForLine(re: RegExp): Promise<string> {
    const seen = this.#tail.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#lineWaiters.push({ re, resolve }));
  }

  async #pump(stream: ReadableStream<Uint8Array>, name: "stdout" | "stderr"): Promise<void> {
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of stream) {
        await this.#log?.write(chunk).catch(() => 0);
        buf += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          this.#line(buf.slice(0, nl), name);
          buf = buf.slice(nl + 1);
        }
      }
    } catch { /* stream closed */ }
    if (buf) this.#line(buf, name);
  }

  #line(line: string, stream: "stdout" | "stderr"): void {
    this.#tail.push(line);
    if (this.#tail.length > TAIL) this.#tail.shift();
    this.options.onLine?.(line, stream);
    for (let i = this.#lineWaiters.length - 1; i >= 0; i--) {
      if (this.#lineWaiters[i].re.test(line)) {
        this.#lineWaiters[i].resolve(line);
        this.#lineWaiters.splice(i, 1);
      }
    }
  }

  /** Sends a signal, ignoring a process that already ended. */
  signal(sig: Deno.Signal): void {
    if (this.#exited) return;
    try {
      this.#child.kill(sig);
    } catch { /* already gone */ }
  }

  /**
   * Stops the process: closes stdin (helpers exit on EOF) and sends SIGTERM,
   * then SIGKILL after `graceMs`. Resolves when it has exited.
   */
  async stop(graceMs = 15_000): Promise<Deno.CommandStatus> {
    if (!this.#exited) {
      await this.#stdin?.close().catch(() => {});
      this.signal("SIGTERM");
      const timer = setTimeout(() => this.#forceKill(), graceMs);
      try {
        await this.status;
      } finally {
        clearTimeout(timer);
      }
    }
    return await this.status;
  }

  #forceKill(): void {
    if (this.#exited) return;
    this.#forced = true;
    this.signal("SIGKILL");
  }

  /** Kills the process at once (SIGKILL); `forced` then says so. */
  async kill(): Promise<Deno.CommandStatus> {
    this.#forceKill();
    await this.#stdin?.close().catch(() => {});
    return await this.status;
  }
}

/** Returns a free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Returns the first of `n` consecutive free TCP ports on 127.0.0.1 (for a cluster on `--kafka-port` and the next). */
export function freePortRange(n: number): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = freePort();
    if (base + n > 65536) continue;
    const held: Deno.Listener[] = [];
    try {
      for (let i = 1; i < n; i++) held.push(Deno.listen({ hostname: "127.0.0.1", port: base + i }));
      return base;
    } catch {
      // One of them is taken: try another base.
    } finally {
      for (const l of held) l.close();
    }
  }
  throw new Error(`No ${n} consecutive free ports found on 127.0.0.1`);
}

/** Waits until a TCP port accepts connections, or the deadline, or `abort` resolves. */
export async function waitForPort(
  port: number,
  timeoutMs: number,
  abort?: Promise<unknown>,
  hostname = "127.0.0.1",
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let aborted = false;
  abort?.then(() => (aborted = true));
  while (Date.now() < deadline && !aborted) {
    try {
      const c = await Deno.connect({ hostname, port });
      c.close();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return false;
}
