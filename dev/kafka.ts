/**
 * A local single-node Apache Kafka broker (KRaft), from Maven Central jars, run with Java 17.
 * The same class runs one node of a local cluster (`dev/kafka_cluster.ts`) when given a node id,
 * the static voters of the quorum and replication settings.
 *
 * Disk use is bounded by size-based retention on every topic: each partition
 * keeps at most `retentionBytes` plus one open segment (`segmentBytes`), checked
 * every 10 s. Defaults: 256 MiB and 64 MiB, overridable with
 * `IOT_KAFKA_RETENTION_BYTES` and `IOT_KAFKA_SEGMENT_BYTES` (bytes, -1 = no
 * size limit), so a full-speed run into `sensor-data` (3 partitions) keeps
 * about 1 GB. Time retention stays 24 h.
 */
import { ServiceStartError } from "@iot/shared";
import { ensureHelperClasses, ensureJars, VERSIONS } from "./jars.ts";
import { freePort, ManagedProcess, waitForPort } from "./process.ts";
import { exists } from "./paths.ts";
import { type KafkaSecurityOptions, scramFormatArgs, securedProperties } from "./kafka_security.ts";

/** Options of `LocalKafka`. */
export interface LocalKafkaOptions {
  /** Broker port (0 or absent: a free one). */
  port?: number;
  /** Controller port (0 or absent: a free one). */
  controllerPort?: number;
  /** Log directory; a fresh temporary one when absent (removed on `dispose`). */
  dataDir?: string;
  /** JVM heap, e.g. "512m". */
  heap?: string;
  /** Default partitions of auto-created topics (auto-creation is off). */
  partitions?: number;
  /** Receives each output line. */
  onLine?: (line: string) => void;
  /** Start-up deadline in ms. */
  startTimeoutMs?: number;
  /** Node id (default 1). */
  nodeId?: number;
  /**
   * Static controller quorum, `id@host:port,...` (`controller.quorum.voters`), for a node of a cluster.
   * Absent: a single node whose own controller is the whole quorum.
   */
  quorumVoters?: string;
  /** Cluster id used to format storage (every node of a cluster shares it); default a fresh one. */
  clusterId?: string;
  /** Replication factor of new topics and of the internal topics (default 1). */
  replicationFactor?: number;
  /** `min.insync.replicas` of new topics and of the transaction and share state topics (default 1). */
  minInsyncReplicas?: number;
  /** Bytes kept per partition (`log.retention.bytes`); default `IOT_KAFKA_RETENTION_BYTES`, else 256 MiB. */
  retentionBytes?: number;
  /** Size of a log segment (`log.segment.bytes`); default `IOT_KAFKA_SEGMENT_BYTES`, else 64 MiB. */
  segmentBytes?: number;
  /**
   * Serve the broker's JMX metrics for Prometheus on this port of 127.0.0.1, through the JMX exporter java agent
   * with the rules of `monitoring/jmx/kafka.yml` (absent: no agent).
   */
  metricsPort?: number;
  /** Also serve a SASL_SSL listener (see `kafka_security.ts`); its address is `secureBrokers`. */
  security?: KafkaSecurityOptions;
  /**
   * How long the controller waits for a broker's heartbeat before it fences the broker and moves its leaderships
   * and ISR places (`broker.session.timeout.ms`; Kafka's default 9000). Heartbeats go every fifth of it.
   */
  brokerSessionTimeoutMs?: number;
  /**
   * How long a controller of the quorum goes without a fetch from the quorum's leader before it calls an election
   * (`controller.quorum.fetch.timeout.ms`; Kafka's default 2000, and 1000 its lower bound by KIP-1236).
   */
  quorumFetchTimeoutMs?: number;
}

/** `broker.session.timeout.ms` and a heartbeat interval of a fifth of it, when set. */
function sessionSettings(ms: number | undefined): string[] {
  if (ms === undefined) return [];
  return [`broker.session.timeout.ms=${ms}`, `broker.heartbeat.interval.ms=${Math.max(100, Math.round(ms / 5))}`];
}

/** Default bytes kept per partition of the local broker. */
export const DEFAULT_RETENTION_BYTES = 256 * 1024 * 1024;
/** Default segment size of the local broker. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

function bytesFromEnv(name: string, fallback: number, min: number): number {
  const raw = Deno.env.get(name)?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || (n < min && n !== -1)) {
    throw new ServiceStartError(`${name} must be a whole number of bytes of at least ${min} (or -1), got "${raw}"`);
  }
  return n;
}

/** The local broker's disk bounds: options, else the environment, else the defaults. */
export function retentionSettings(options: Pick<LocalKafkaOptions, "retentionBytes" | "segmentBytes"> = {}): {
  retentionBytes: number;
  segmentBytes: number;
} {
  return {
    retentionBytes: options.retentionBytes ?? bytesFromEnv("IOT_KAFKA_RETENTION_BYTES", DEFAULT_RETENTION_BYTES, 1),
    // Kafka refuses segments below 1 MiB.
    segmentBytes: options.segmentBytes ?? bytesFromEnv("IOT_KAFKA_SEGMENT_BYTES", DEFAULT_SEGMENT_BYTES, 1048576),
  };
}

// NetworkClient warns on every reconnect attempt to a peer that is down (a cluster's start, a stopped node).
const LOG4J = `status = error
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = INFO
logger.network.name = org.apache.kafka.clients.NetworkClient
logger.network.level = ERROR
`;

/** A Kafka broker process that can be started, stopped and started again on the same data. */
export class LocalKafka {
  readonly port: number;
  readonly controllerPort: number;
  /** Port of the SASL_SSL listener (0 without `security`). */
  readonly securePort: number;
  readonly dataDir: string;
  #ownsDir: boolean;
  #proc?: ManagedProcess;

  constructor(readonly options: LocalKafkaOptions = {}) {
    this.port = options.port || freePort();
    this.controllerPort = options.controllerPort || freePort();
    this.securePort = options.security ? options.security.port || freePort() : 0;
    this.#ownsDir = !options.dataDir;
    this.dataDir = options.dataDir ?? Deno.makeTempDirSync({ prefix: "iot-kafka-" });
  }

  /** Bootstrap servers, e.g. `127.0.0.1:9092`. */
  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Bootstrap servers of the SASL_SSL listener, e.g. `127.0.0.1:9093` (needs the `security` option). */
  get secureBrokers(): string {
    if (!this.options.security) throw new RangeError("This broker has no secured listener");
    return `127.0.0.1:${this.securePort}`;
  }

  /** Whether the broker process is running. */
  get running(): boolean {
    return !!this.#proc && !this.#proc.exited;
  }

  /** Process id of the running broker (for CPU accounting), if any. */
  get pid(): number | undefined {
    return this.#proc && !this.#proc.exited ? this.#proc.pid : undefined;
  }

  /** The last lines of the broker's output. */
  tail(n = 40): string {
    return this.#proc?.tail(n) ?? "";
  }

  #properties(): string {
    const { retentionBytes, segmentBytes } = retentionSettings(this.options);
    const rf = this.options.replicationFactor ?? 1;
    const minIsr = this.options.minInsyncReplicas ?? 1;
    const quorum = this.options.quorumVoters
      ? `controller.quorum.voters=${this.options.quorumVoters}`
      : `controller.quorum.bootstrap.servers=127.0.0.1:${this.controllerPort}`;
    const lines = [
      "process.roles=broker,controller",
      `node.id=${this.options.nodeId ?? 1}`,
      quorum,
      `listeners=PLAINTEXT://127.0.0.1:${this.port},CONTROLLER://127.0.0.1:${this.controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${this.port}`,
      "controller.listener.names=CONTROLLER",
      "inter.broker.listener.name=PLAINTEXT",
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      `log.dirs=${this.dataDir}/logs`,
      `num.partitions=${this.options.partitions ?? 3}`,
      "auto.create.topics.enable=false",
      `default.replication.factor=${rf}`,
      `min.insync.replicas=${minIsr}`,
      `offsets.topic.replication.factor=${rf}`,
      "offsets.topic.num.partitions=3",
      `transaction.state.log.replication.factor=${rf}`,
      `transaction.state.log.min.isr=${minIsr}`,
      `share.coordinator.state.topic.replication.factor=${rf}`,
      `share.coordinator.state.topic.min.isr=${minIsr}`,
      "group.initial.rebalance.delay.ms=0",
      ...sessionSettings(this.options.brokerSessionTimeoutMs),
      ...(this.options.quorumFetchTimeoutMs === undefined
        ? []
        : [`controller.quorum.fetch.timeout.ms=${this.options.quorumFetchTimeoutMs}`]),
      "log.retention.hours=24",
      `log.retention.bytes=${retentionBytes}`,
      `log.segment.bytes=${segmentBytes}`,
      "log.retention.check.interval.ms=10000",
      "",
    ];
    const { security } = this.options;
    return (security ? securedProperties(lines, security, this.securePort) : lines).join("\n");
  }

  /** Formats storage on first start, starts the broker and waits until it accepts connections. */
  async start(): Promise<void> {
    if (this.running) return;
    const [libs, classes] = await Promise.all([ensureJars("kafka"), ensureHelperClasses()]);
    const cp = `${libs}/*:${classes}`;
    const props = `${this.dataDir}/server.properties`;
    const log4j = `${this.dataDir}/log4j2.properties`;
    await Deno.writeTextFile(props, this.#properties());
    await Deno.writeTextFile(log4j, LOG4J);
    const jvm = [`-Dlog4j2.configurationFile=${log4j}`, "-Djava.awt.headless=true"];
    const agent = this.options.metricsPort ? [await this.#metricsAgent(this.options.metricsPort)] : [];
    const scram = scramFormatArgs(this.options.security);
    if (!(await exists(`${this.dataDir}/logs/meta.properties`))) {
      const id = this.options.clusterId ??
        await javaOutput(["-cp", cp, ...jvm, "kafka.tools.StorageTool", "random-uuid"]);
      // Static voters are named in the properties; a single node formats itself as the whole quorum.
      const quorum = this.options.quorumVoters ? [] : ["--standalone"];
      await javaOutput([
        "-cp",
        cp,
        ...jvm,
        "kafka.tools.StorageTool",
        "format",
        ...quorum,
        "-t",
        id,
        "-c",
        props,
        ...scram,
      ]);
    }
    const heap = this.options.heap ?? "512m";
    this.#proc = await ManagedProcess.spawn({
      name: this.options.nodeId === undefined ? "kafka" : `kafka-${this.options.nodeId}`,
      cmd: "java",
      args: [
        `-Xms${heap}`,
        `-Xmx${heap}`,
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        ...jvm,
        ...agent,
        "-cp",
        cp,
        "ParentWatch",
        "kafka.Kafka",
        props,
      ],
      stdinPipe: true,
      ownSession: true,
      logFile: `${this.dataDir}/kafka.log`,
      onLine: this.options.onLine,
    });
    const timeout = this.options.startTimeoutMs ?? 90_000;
    const up = await waitForPort(this.port, timeout, this.#proc.status);
    if (!up) {
      const tail = this.#proc.tail(30);
      await this.#proc.stop(5000);
      throw new ServiceStartError(
        `Kafka did not accept connections on ${this.brokers} within ${timeout / 1000} s. Last output:\n${tail}`,
      );
    }
  }

  /** The `-javaagent` option of the JMX exporter serving `/metrics` on `port`. */
  async #metricsAgent(port: number): Promise<string> {
    const jar = `${await ensureJars("jmx")}/jmx_prometheus_javaagent-${VERSIONS.jmx}.jar`;
    const rules = new URL("../monitoring/jmx/kafka.yml", import.meta.url).pathname;
    return `-javaagent:${jar}=127.0.0.1:${port}:${rules}`;
  }

  /**
   * Stops the broker gracefully (controlled shutdown), keeping its data for a
   * restart; kills it after `graceMs`. Resolves with whether it had to be killed.
   */
  async stop(graceMs = 20_000): Promise<boolean> {
    await this.#proc?.stop(graceMs);
    return this.#proc?.forced ?? false;
  }

  /**
   * Kills the broker at once (SIGKILL, the default), or sends SIGTERM alone (a
   * controlled shutdown, as by an orchestrator) and waits until it has exited,
   * killing it after `graceMs`.
   */
  async kill(signal: "SIGKILL" | "SIGTERM" = "SIGKILL", graceMs = 30_000): Promise<void> {
    const proc = this.#proc;
    if (!proc || proc.exited) return;
    if (signal === "SIGKILL") {
      await proc.kill();
      return;
    }
    proc.signal("SIGTERM");
    const timer = setTimeout(() => proc.kill(), graceMs);
    try {
      await proc.status;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the broker (killing it after `graceMs`) and removes a temporary data directory. Resolves with `stop`'s. */
  async dispose(graceMs?: number): Promise<boolean> {
    const forced = await this.stop(graceMs);
    if (this.#ownsDir) await Deno.remove(this.dataDir, { recursive: true }).catch(() => {});
    return forced;
  }
}

async function javaOutput(args: string[]): Promise<string> {
  const out = await new Deno.Command("java", { args, stdout: "piped", stderr: "piped" }).output().catch((e) => {
    throw new ServiceStartError(`Cannot run java: ${(e as Error).message}. Install a JDK 17 or newer.`);
  });
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new ServiceStartError(`java ${args.slice(-4).join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text.split("\n").pop() ?? "";
}
