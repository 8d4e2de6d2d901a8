/** A local single-node Apache Kafka broker (KRaft), from Maven Central jars, run with Java 17. */
import { ServiceStartError } from "@iot/shared";
import { ensureHelperClasses, ensureJars } from "./jars.ts";
import { freePort, ManagedProcess, waitForPort } from "./process.ts";
import { exists } from "./paths.ts";

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
}

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
`;

/** A Kafka broker process that can be started, stopped and started again on the same data. */
export class LocalKafka {
  readonly port: number;
  readonly controllerPort: number;
  readonly dataDir: string;
  #ownsDir: boolean;
  #proc?: ManagedProcess;

  constructor(readonly options: LocalKafkaOptions = {}) {
    this.port = options.port || freePort();
    this.controllerPort = options.controllerPort || freePort();
    this.#ownsDir = !options.dataDir;
    this.dataDir = options.dataDir ?? Deno.makeTempDirSync({ prefix: "iot-kafka-" });
  }

  /** Bootstrap servers, e.g. `127.0.0.1:9092`. */
  get brokers(): string {
    return `127.0.0.1:${this.port}`;
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
    return [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.bootstrap.servers=127.0.0.1:${this.controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${this.port},CONTROLLER://127.0.0.1:${this.controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${this.port}`,
      "controller.listener.names=CONTROLLER",
      "inter.broker.listener.name=PLAINTEXT",
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      `log.dirs=${this.dataDir}/logs`,
      `num.partitions=${this.options.partitions ?? 3}`,
      "auto.create.topics.enable=false",
      "offsets.topic.replication.factor=1",
      "offsets.topic.num.partitions=3",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "share.coordinator.state.topic.replication.factor=1",
      "share.coordinator.state.topic.min.isr=1",
      "group.initial.rebalance.delay.ms=0",
      "log.retention.hours=24",
      "log.segment.bytes=268435456",
      "",
    ].join("\n");
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
    if (!(await exists(`${this.dataDir}/logs/meta.properties`))) {
      const id = await javaOutput(["-cp", cp, ...jvm, "kafka.tools.StorageTool", "random-uuid"]);
      await javaOutput(["-cp", cp, ...jvm, "kafka.tools.StorageTool", "format", "--standalone", "-t", id, "-c", props]);
    }
    const heap = this.options.heap ?? "512m";
    this.#proc = await ManagedProcess.spawn({
      name: "kafka",
      cmd: "java",
      args: [
        `-Xms${heap}`,
        `-Xmx${heap}`,
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        ...jvm,
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

  /** Stops the broker gracefully (controlled shutdown), keeping its data for a restart. */
  async stop(): Promise<void> {
    await this.#proc?.stop(20_000);
  }

  /** Kills the broker at once (SIGKILL). */
  async kill(): Promise<void> {
    await this.#proc?.kill();
  }

  /** Stops the broker and removes a temporary data directory. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.#ownsDir) await Deno.remove(this.dataDir, { recursive: true }).catch(() => {});
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
