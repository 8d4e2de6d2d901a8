/**
 * `deno task up`: runs the whole stack without Docker — local Kafka and MongoDB
 * (or those named by KAFKA_BROKERS / MONGO_URL), the processor, the web
 * dashboard and a producer — with prefixed logs, and prints the dashboard URL
 * once everything is ready. Ctrl-C (or SIGTERM) stops producer, processor, web,
 * then the services, within `--stop-timeout` seconds; what is still running
 * then is killed and the exit code is 1. A second Ctrl-C kills everything at
 * once (exit code 1). A program that dies is reported with its log tail; exit
 * code 1. The in-memory MongoDB stand-in gets the same bounds as under
 * `deno task services` (see `standInBounds` in `dev/mongo.ts`). With
 * `--prometheus` it also serves the producer's `/metrics`, runs Kafka's JMX
 * exporter agent and a local Prometheus scraping them all (`dev/prometheus.ts`).
 * `--brokers 3` runs Kafka as a local 3-node cluster (see `dev/kafka_cluster.ts`).
 *
 * Unless `--no-websites`, it also runs the HTTP checker (`deno task producer
 * --source http`) with its `/metrics` on the port after the producer's: on the
 * targets of `--targets FILE`, or by default on a built-in set that works
 * offline — the stack's own `/healthz` endpoints and a local demo server with a
 * healthy, a slow and a failing endpoint (`dev/demo_sites.ts`) — so that the
 * Websites page shows cards, charts and alerts within a minute.
 */
import { listenForStop, parseFlags, runMain, usage, UsageError } from "@iot/shared";
import { loadTargets } from "../producer/http/mod.ts";
import { builtInTargets, type DemoSites, startDemoSites, targetsFile } from "./demo_sites.ts";
import { LocalPrometheus, pipelineJobs, RULES_FILE } from "./prometheus.ts";
import { BROKERS_FLAG, startServices } from "./stack.ts";
import { Supervisor } from "./supervisor.ts";

const FLAGS = {
  rate: { type: "number", default: 1000, min: 0, help: "Producer messages per second (0 = as fast as possible)" },
  sensors: { type: "number", default: 1000, min: 1, max: 100000, integer: true, help: "Simulated sensors" },
  producer: { type: "boolean", default: true, help: "Run a producer (--no-producer: feed it yourself)" },
  websites: {
    type: "boolean",
    default: true,
    help: "Run the HTTP checker on --targets or the built-in demo targets (--no-websites: none)",
  },
  targets: { type: "string", help: "Targets file of the HTTP checker (default: the stack's /healthz and demo sites)" },
  processors: { type: "number", default: 1, min: 1, max: 8, integer: true, help: "Processor instances" },
  "web-port": { type: "number", default: 8000, min: 1, max: 65535, integer: true, help: "Dashboard port" },
  "metrics-port": {
    type: "number",
    default: 9101,
    min: 1,
    max: 65535,
    integer: true,
    help: "First processor's /metrics port (next ones +1, then the producer's and the checker's)",
  },
  brokers: BROKERS_FLAG,
  "kafka-port": { type: "number", default: 9092, min: 1, max: 65535, integer: true, help: "Local Kafka port" },
  "mongo-port": { type: "number", default: 27017, min: 1, max: 65535, integer: true, help: "Local MongoDB port" },
  prometheus: { type: "boolean", default: false, help: "Also run Prometheus scraping every program and Kafka" },
  "prometheus-port": { type: "number", default: 9090, min: 1, max: 65535, integer: true, help: "Prometheus UI port" },
  "kafka-metrics-port": {
    type: "number",
    default: 9404,
    min: 1,
    max: 65535,
    integer: true,
    help: "Local Kafka's JMX exporter port (with --prometheus)",
  },
  "scrape-interval": {
    type: "number",
    default: 5,
    min: 1,
    max: 60,
    integer: true,
    help: "Prometheus scrape interval (s)",
  },
  "ready-timeout": { type: "number", default: 120, min: 5, help: "Seconds each program may take to become ready" },
  "stop-timeout": {
    type: "number",
    default: 45,
    min: 5,
    max: 600,
    help: "Seconds the whole stop may take (the services get the last 10 s) before what runs is killed",
  },
} as const;

/** Part of the stop deadline kept for the services, after the programs. */
const SERVICES_STOP_MS = 10_000;

runMain(async () => {
  const flags = parseFlags(Deno.args, FLAGS);
  if (flags.help) {
    console.log(usage("deno task up", "Runs the whole pipeline locally and prints the dashboard URL.", FLAGS));
    return 0;
  }
  if (flags.targets !== undefined && !flags.websites) {
    throw new UsageError("Flags --targets and --no-websites exclude each other");
  }
  // A bad targets file fails before anything starts.
  const userTargets = flags.targets !== undefined ? await loadTargets(flags.targets) : undefined;
  const root = new URL("../", import.meta.url).pathname;
  const out = new TextEncoder();
  const sup = new Supervisor({
    root,
    color: Deno.stdout.isTerminal(),
    write: (line) => Deno.stdout.writeSync(out.encode(line + "\n")),
  });
  const signals = listenForStop();
  const signal: Promise<string> = signals.first;

  const timeout = flags["ready-timeout"] * 1000;
  const services = await startServices({
    kafkaPort: flags["kafka-port"],
    brokers: flags.brokers,
    mongoPort: flags["mongo-port"],
    kafkaMetricsPort: flags.prometheus ? flags["kafka-metrics-port"] : undefined,
    log: (m) => sup.say(m),
    onLine: (svc, line) => sup.options.write(sup.prefix(svc) + line),
  });
  const base: Record<string, string> = {
    ...Deno.env.toObject(),
    KAFKA_BROKERS: services.kafkaBrokers,
    MONGO_URL: services.mongoUrl,
  };
  const webUrl = `http://127.0.0.1:${flags["web-port"]}`;
  // With --prometheus the producer serves /metrics on the port after the processors'.
  const producerPort = flags.prometheus ? flags["metrics-port"] + flags.processors : undefined;
  // The checker always serves /metrics (its /healthz tells when it is ready), on the port after the producer's.
  const checkerPort = flags.websites ? flags["metrics-port"] + flags.processors + 1 : undefined;
  const processorPorts = Array.from({ length: flags.processors }, (_, i) => flags["metrics-port"] + i);
  let prometheus: LocalPrometheus | undefined;
  let demo: DemoSites | undefined;
  let targetsDir: string | undefined;
  let websites = "not checked (--no-websites)";
  let code = 0;
  try {
    const startAll = async () => {
      for (let i = 0; i < flags.processors; i++) {
        const port = flags["metrics-port"] + i;
        await sup.start({
          name: flags.processors > 1 ? `processor${i + 1}` : "processor",
          script: "processor/main.ts",
          env: { ...base, PROCESSOR_METRICS_PORT: String(port) },
          healthUrl: `http://127.0.0.1:${port}/healthz`,
        }, timeout);
      }
      await sup.start({
        name: "web",
        script: "web/main.ts",
        env: { ...base, WEB_PORT: String(flags["web-port"]), WEB_HOST: base.WEB_HOST ?? "127.0.0.1" },
        healthUrl: `${webUrl}/healthz`,
      }, timeout);
      if (checkerPort) {
        let file = flags.targets;
        if (!file) {
          demo = startDemoSites();
          targetsDir = await Deno.makeTempDir({ prefix: "iot-targets-" });
          file = `${targetsDir}/targets.json`;
          const targets = builtInTargets({ demo: demo.url, processors: processorPorts, web: flags["web-port"] });
          await Deno.writeTextFile(file, targetsFile(targets));
          sup.say(`Demo sites on ${demo.url} (healthy, slow, failing)`);
          websites = `${targets.length} built-in targets (the stack's /healthz, demo sites on ${demo.url})`;
        } else {
          websites = `${userTargets!.length} targets from ${file}`;
        }
        await sup.start({
          name: "checker",
          script: "producer/main.ts",
          args: ["--source", "http", "--targets", file, "--metrics-port", String(checkerPort)],
          env: base,
          healthUrl: `http://127.0.0.1:${checkerPort}/healthz`,
        }, timeout);
      }
      if (flags.producer) {
        await sup.start({
          name: "producer",
          script: "producer/main.ts",
          args: ["--rate", String(flags.rate), "--sensors", String(flags.sensors)],
          env: producerPort ? { ...base, PRODUCER_METRICS_PORT: String(producerPort) } : base,
          healthUrl: producerPort ? `http://127.0.0.1:${producerPort}/healthz` : undefined,
        }, timeout);
      }
      if (flags.prometheus) {
        const jobs = pipelineJobs({
          processors: processorPorts,
          web: flags["web-port"],
          producer: producerPort,
          checker: checkerPort,
          kafka: services.kafka ? flags["kafka-metrics-port"] : undefined,
        });
        prometheus = new LocalPrometheus({
          port: flags["prometheus-port"],
          jobs,
          intervalSeconds: flags["scrape-interval"],
          ruleFiles: [RULES_FILE],
          onLine: (line) => sup.options.write(sup.prefix("prometheus") + line),
        });
        sup.say(`Starting Prometheus on ${prometheus.url} (jobs: ${jobs.map((j) => j.job).join(", ")}) ...`);
        await prometheus.start();
      }
    };
    const first = await Promise.race([
      startAll().then(() => "ready"),
      signal,
      sup.failed.then((m) => {
        throw new Error(m);
      }),
      services.failed.then((m) => {
        throw new Error(m);
      }),
    ]);
    if (first === "ready") {
      sup.say("");
      sup.say(`Dashboard:  ${webUrl}`);
      sup.say(`Kafka:      ${services.kafkaBrokers}    MongoDB: ${services.mongoUrl}`);
      if (prometheus) sup.say(`Prometheus: ${prometheus.url}`);
      sup.say(`Websites:   ${websites}`);
      sup.say(
        flags.producer
          ? `Producer:   ${flags.rate} msg/s from ${flags.sensors} sensors`
          : "Producer:   not started (--no-producer)",
      );
      sup.say("Press Ctrl-C to stop everything.");
      sup.say("");
      const reason = await Promise.race([signal, sup.failed, services.failed, prometheus?.failed ?? signal]);
      if (!reason.startsWith("SIG")) {
        sup.say(reason);
        code = 1;
      }
    }
  } catch (e) {
    sup.say(`error: ${(e as Error).message}`);
    code = 1;
  } finally {
    sup.say(`shutting down${signals.received ? ` (${signals.received})` : ""} ...`);
    let atOnce = false;
    signals.again.then(async (sig) => {
      atOnce = true;
      sup.say(`${sig} again: killing everything now`);
      await Promise.all([sup.killAll(), services.kill(), prometheus?.kill()]);
    });
    const deadline = Date.now() + flags["stop-timeout"] * 1000;
    const processors = flags.processors > 1
      ? Array.from({ length: flags.processors }, (_, i) => `processor${i + 1}`)
      : ["processor"];
    const killed = await sup.stopAll(
      ["producer", "checker", ...processors, "web"],
      deadline - Date.now() - SERVICES_STOP_MS,
    );
    await demo?.close();
    if (targetsDir) await Deno.remove(targetsDir, { recursive: true }).catch(() => {});
    if (prometheus && (await prometheus.dispose(5000))) killed.push("prometheus");
    sup.say("stopping services ...");
    if (await services.stop(Math.max(SERVICES_STOP_MS, deadline - Date.now()))) killed.push("services");
    if (killed.length && !atOnce) {
      sup.say(`killed after the ${flags["stop-timeout"]} s stop deadline: ${killed.join(", ")}`);
    }
    sup.say(killed.length ? "all stopped (some killed)" : "all stopped");
    if (killed.length) code = 1;
  }
  return code;
});
