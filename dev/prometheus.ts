/**
 * A local Prometheus server for `deno task up --prometheus`: the binary of the
 * Debian package `prometheus` (`/usr/bin/prometheus`), run directly with a
 * generated scrape config, its storage in a temporary directory and its web
 * UI and API on 127.0.0.1. The package's own systemd service plays no part.
 *
 * The server gets SIGTERM when its parent dies (`setpriv --pdeathsig`), so a
 * killed `deno task up` leaves no Prometheus behind.
 */
import { ServiceStartError } from "@iot/shared";
import { stringify } from "yaml";
import { freePort, ManagedProcess } from "./process.ts";
import { exists } from "./paths.ts";

/** One scrape job: a name (the `job` label) and the `host:port` addresses of its `/metrics`. */
export interface ScrapeJob {
  job: string;
  targets: string[];
  /** Path of the metrics page (default `/metrics`). */
  metricsPath?: string;
}

/** Options of `prometheusConfig`. */
export interface PrometheusConfigOptions {
  jobs: ScrapeJob[];
  /** Scrape and rule evaluation interval in seconds (default 5). */
  intervalSeconds?: number;
  /** Absolute paths of rule files (recording and alerting rules). */
  ruleFiles?: string[];
}

/** The alerting and recording rules kept with the compose stack, loaded by the local server too. */
export const RULES_FILE: string = new URL("../monitoring/prometheus/rules.yml", import.meta.url).pathname;

/**
 * The Prometheus configuration (YAML) scraping the given jobs.
 *
 * @example
 * ```ts
 * const yaml = prometheusConfig({ jobs: [{ job: "processor", targets: ["127.0.0.1:9101"] }], intervalSeconds: 1 });
 * ```
 */
export function prometheusConfig(options: PrometheusConfigOptions): string {
  const interval = `${options.intervalSeconds ?? 5}s`;
  for (const j of options.jobs) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_-]*$/.test(j.job)) throw new TypeError(`Scrape job name "${j.job}" is not valid`);
  }
  return stringify({
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: options.jobs.map((j) => ({
      job_name: j.job,
      metrics_path: j.metricsPath ?? "/metrics",
      static_configs: [{ targets: j.targets }],
    })),
  });
}

/** The `/metrics` ports of the local programs (all on 127.0.0.1). */
export interface PipelinePorts {
  processors: number[];
  web: number;
  producer?: number;
  /** The HTTP checker (`deno task producer --source http`). */
  checker?: number;
  /** Kafka's JMX exporter. */
  kafka?: number;
}

/** One scrape job per program: `processor`, `web`, and `producer`, `checker` and `kafka` when they serve metrics. */
export function pipelineJobs(ports: PipelinePorts): ScrapeJob[] {
  const local = (port: number) => `127.0.0.1:${port}`;
  const jobs: ScrapeJob[] = [
    { job: "processor", targets: ports.processors.map(local) },
    { job: "web", targets: [local(ports.web)] },
  ];
  if (ports.producer) jobs.push({ job: "producer", targets: [local(ports.producer)] });
  if (ports.checker) jobs.push({ job: "checker", targets: [local(ports.checker)] });
  if (ports.kafka) jobs.push({ job: "kafka", targets: [local(ports.kafka)] });
  return jobs;
}

/** Options of `LocalPrometheus`. */
export interface LocalPrometheusOptions extends PrometheusConfigOptions {
  /** Port of the web UI and API on 127.0.0.1 (0 or absent: a free one). */
  port?: number;
  /** The Prometheus binary (default `/usr/bin/prometheus`, the Debian package's). */
  binary?: string;
  /** Receives each output line. */
  onLine?: (line: string) => void;
  /** Start-up deadline in ms (default 30 s). */
  startTimeoutMs?: number;
}

/** Where the Debian package installs the server. */
export const PROMETHEUS_BINARY = "/usr/bin/prometheus";

/** A Prometheus server process with its configuration and storage in a temporary directory. */
export class LocalPrometheus {
  readonly port: number;
  readonly dir: string;
  /** Resolves with a message when the server exits without being stopped. */
  readonly failed: Promise<string>;
  #proc?: ManagedProcess;
  #stopping = false;
  #fail?: (message: string) => void;

  constructor(readonly options: LocalPrometheusOptions) {
    this.port = options.port || freePort();
    this.dir = Deno.makeTempDirSync({ prefix: "iot-prometheus-" });
    this.failed = new Promise((resolve) => (this.#fail = resolve));
  }

  /** Base URL of the UI and HTTP API, e.g. `http://127.0.0.1:9090`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Whether the server is running. */
  get running(): boolean {
    return !!this.#proc && !this.#proc.exited;
  }

  /** The last lines of the server's output. */
  tail(n = 40): string {
    return this.#proc?.tail(n) ?? "";
  }

  /** Writes the configuration, starts the server and waits until `/-/ready` answers. */
  async start(): Promise<void> {
    if (this.running) return;
    const binary = this.options.binary ?? PROMETHEUS_BINARY;
    if (!(await exists(binary))) {
      throw new ServiceStartError(`Prometheus is not installed at ${binary}: apt-get install -y prometheus`);
    }
    const config = `${this.dir}/prometheus.yml`;
    await Deno.writeTextFile(config, prometheusConfig(this.options));
    const args = [
      `--config.file=${config}`,
      `--storage.tsdb.path=${this.dir}/data`,
      "--storage.tsdb.retention.time=1d",
      `--web.listen-address=127.0.0.1:${this.port}`,
      "--log.level=warn",
    ];
    const setpriv = (await exists("/usr/bin/setpriv")) ? "/usr/bin/setpriv" : undefined;
    this.#proc = await ManagedProcess.spawn({
      name: "prometheus",
      cmd: setpriv ?? binary,
      args: setpriv ? ["--pdeathsig", "TERM", "--", binary, ...args] : args,
      ownSession: true,
      logFile: `${this.dir}/prometheus.log`,
      onLine: this.options.onLine,
    });
    const proc = this.#proc;
    proc.status.then((s) => {
      if (!this.#stopping) this.#fail?.(`Prometheus exited unexpectedly (code ${s.code}):\n${proc.tail(20)}`);
    });
    const timeout = this.options.startTimeoutMs ?? 30_000;
    if (!(await this.#ready(timeout))) {
      const tail = this.#proc.tail(30);
      this.#stopping = true;
      await this.#proc.stop(5000);
      throw new ServiceStartError(`Prometheus was not ready at ${this.url} within ${timeout / 1000} s:\n${tail}`);
    }
  }

  async #ready(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.running) {
      try {
        const res = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(2000) });
        await res.body?.cancel();
        if (res.ok) return true;
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  }

  /** Stops the server (SIGTERM, SIGKILL after `graceMs`) and removes its directory. Resolves with whether it was killed. */
  async dispose(graceMs = 10_000): Promise<boolean> {
    this.#stopping = true;
    await this.#proc?.stop(graceMs);
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    return this.#proc?.forced ?? false;
  }

  /** Kills the server at once. */
  async kill(): Promise<void> {
    this.#stopping = true;
    await this.#proc?.kill();
  }
}
