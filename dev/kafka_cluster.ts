/**
 * A local Apache Kafka cluster on loopback for tests, benchmarks and
 * `deno task services|up --brokers 3`: N combined broker+controller KRaft nodes
 * (`LocalKafka`, same jars) with a static N-voter quorum, each advertising
 * 127.0.0.1 on its own port. New topics and the internal ones (consumer
 * offsets, transaction and share state) get replication factor min(N, 3) and
 * `min.insync.replicas` one less (3 nodes: RF 3, min ISR 2), so a cluster of
 * three keeps accepting `acks=all` writes with one node down.
 *
 * Node `i` (0-based) has Kafka node id `i`, so the ids in metadata are indexes
 * of `node(i)`. Tests stop, kill and restart single nodes, and ask who leads a
 * partition or coordinates a group.
 *
 * @example
 * ```ts
 * const cluster = new LocalKafkaCluster({ nodes: 3 });
 * await cluster.start();
 * const leader = await cluster.leaderOf("sensor-data", 0);
 * await cluster.node(leader).kill("SIGKILL");
 * await cluster.restart(leader);
 * await cluster.waitInSync(["sensor-data"]);
 * await cluster.dispose();
 * ```
 * @module
 */
import type { Admin } from "kafkajs";
import { createKafka, createLogger, ServiceStartError } from "@iot/shared";
import { LocalKafka } from "./kafka.ts";
import { freePort } from "./process.ts";
import { waitFor } from "./testing.ts";

/** Options of `LocalKafkaCluster`. */
export interface LocalKafkaClusterOptions {
  /** Number of nodes, at least 2 (default 3). */
  nodes?: number;
  /** Broker ports, one per node (default: free ones). */
  ports?: number[];
  /** JVM heap of each node (default "512m"). */
  heap?: string;
  /** Parent of the nodes' log directories (`node-<i>` each); a fresh temporary one when absent (removed on `dispose`). */
  dataDir?: string;
  /** Default partitions of new topics. */
  partitions?: number;
  /** Receives each output line with the node's index. */
  onLine?: (node: number, line: string) => void;
  /** Start-up deadline of each node in ms. */
  startTimeoutMs?: number;
  /** See `LocalKafkaOptions.retentionBytes`. */
  retentionBytes?: number;
  /** See `LocalKafkaOptions.segmentBytes`. */
  segmentBytes?: number;
  /** See `LocalKafkaOptions.brokerSessionTimeoutMs`; default `CLUSTER_BROKER_SESSION_TIMEOUT_MS`. */
  brokerSessionTimeoutMs?: number;
  /** See `LocalKafkaOptions.quorumFetchTimeoutMs`; default `CLUSTER_QUORUM_FETCH_TIMEOUT_MS`. */
  quorumFetchTimeoutMs?: number;
}

/**
 * `broker.session.timeout.ms` of the local cluster's nodes. A SIGKILLed node holds up `acks=all` writes to every
 * partition it follows until the controller fences it and takes it out of their ISR, so Kafka's 9 s default would
 * stall the partitions the dead node did not lead for about 9 s; on loopback 1.5 s is safe (heartbeats every 300 ms).
 */
export const CLUSTER_BROKER_SESSION_TIMEOUT_MS = 1500;

/**
 * `controller.quorum.fetch.timeout.ms` of the local cluster's nodes. Each node is also a controller, so a SIGKILL of
 * the quorum's leader (the active controller) first waits this long for an election, and then the new controller
 * gives the dead node a full broker session before it fences it: Kafka's 2 s default would put about 4 s of stall on
 * every partition; 1 s is Kafka's lower bound (KIP-1236: twice the Raft fetch wait of 500 ms).
 */
export const CLUSTER_QUORUM_FETCH_TIMEOUT_MS = 1000;

/** How long `stop` waits for the replicas to be in sync before it stops the nodes. */
const SETTLE_BEFORE_STOP_MS = 15_000;

/** Leader, replicas and in-sync replicas of one partition (node indexes; leader -1 when there is none). */
export interface PartitionState {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

/** Partitions of Kafka's consumer offsets topic on the local brokers (`offsets.topic.num.partitions`). */
export const OFFSETS_TOPIC_PARTITIONS = 3;

/**
 * A fresh Kafka cluster id: 16 random bytes in URL-safe base64 without padding, as `kafka-storage random-uuid`.
 * Like Kafka's `Uuid.randomUuid`, never one that starts with "-": `kafka-storage format -t -abc` takes it for an
 * option and fails (1 start in 64 before).
 */
export function newClusterId(fill: (bytes: Uint8Array) => void = (b) => crypto.getRandomValues(b)): string {
  for (;;) {
    const bytes = new Uint8Array(16);
    fill(bytes);
    const id = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    if (!id.startsWith("-")) return id;
  }
}

/** Java's `String.hashCode` of a string. */
function javaHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** The partition of `__consumer_offsets` that holds a group, hence whose leader coordinates it (Kafka's rule). */
export function offsetsPartitionOf(group: string, partitions = OFFSETS_TOPIC_PARTITIONS): number {
  const h = javaHashCode(group);
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}

/** Several `LocalKafka` nodes forming one KRaft cluster. */
export class LocalKafkaCluster {
  readonly #nodes: LocalKafka[];
  readonly dataDir: string;
  readonly #ownsDir: boolean;
  /** Replication factor of new and internal topics. */
  readonly replicationFactor: number;
  /** `min.insync.replicas` of new topics. */
  readonly minInsyncReplicas: number;

  constructor(readonly options: LocalKafkaClusterOptions = {}) {
    const n = options.nodes ?? 3;
    if (!Number.isInteger(n) || n < 2) throw new ServiceStartError(`A local cluster needs at least 2 nodes, got ${n}`);
    if (options.ports && options.ports.length !== n) {
      throw new ServiceStartError(`A cluster of ${n} nodes needs ${n} ports, got ${options.ports.length}`);
    }
    this.#ownsDir = !options.dataDir;
    this.dataDir = options.dataDir ?? Deno.makeTempDirSync({ prefix: "iot-kafka-cluster-" });
    this.replicationFactor = Math.min(n, 3);
    this.minInsyncReplicas = Math.max(1, this.replicationFactor - 1);
    const controllerPorts = Array.from({ length: n }, () => freePort());
    const voters = controllerPorts.map((p, i) => `${i}@127.0.0.1:${p}`).join(",");
    const clusterId = newClusterId();
    this.#nodes = controllerPorts.map((controllerPort, i) => {
      const dataDir = `${this.dataDir}/node-${i}`;
      Deno.mkdirSync(dataDir, { recursive: true });
      return new LocalKafka({
        nodeId: i,
        port: options.ports?.[i],
        controllerPort,
        quorumVoters: voters,
        clusterId,
        replicationFactor: this.replicationFactor,
        minInsyncReplicas: this.minInsyncReplicas,
        dataDir,
        heap: options.heap ?? "512m",
        partitions: options.partitions,
        startTimeoutMs: options.startTimeoutMs,
        retentionBytes: options.retentionBytes,
        segmentBytes: options.segmentBytes,
        brokerSessionTimeoutMs: options.brokerSessionTimeoutMs ?? CLUSTER_BROKER_SESSION_TIMEOUT_MS,
        quorumFetchTimeoutMs: options.quorumFetchTimeoutMs ?? CLUSTER_QUORUM_FETCH_TIMEOUT_MS,
        onLine: options.onLine && ((line) => options.onLine!(i, line)),
      });
    });
  }

  /** Number of nodes. */
  get size(): number {
    return this.#nodes.length;
  }

  /** Node `i` (0-based; also its Kafka node id). */
  node(i: number): LocalKafka {
    const node = this.#nodes[i];
    if (!node) throw new RangeError(`No node ${i} in a cluster of ${this.#nodes.length}`);
    return node;
  }

  /** Every node's bootstrap address, `127.0.0.1:<port>`, in node order. */
  get brokerList(): string[] {
    return this.#nodes.map((n) => n.brokers);
  }

  /** Bootstrap servers of all nodes, comma-separated (a `KAFKA_BROKERS` value). */
  get brokers(): string {
    return this.brokerList.join(",");
  }

  /** Whether every node is running. */
  get running(): boolean {
    return this.#nodes.every((n) => n.running);
  }

  /** The last lines of each node's output, labelled. */
  tail(n = 20): string {
    return this.#nodes.map((node, i) => `--- node ${i} (${node.running ? "running" : "stopped"}) ---\n${node.tail(n)}`)
      .join("\n");
  }

  /** Starts every node that is not running and waits until each accepts connections. */
  async start(): Promise<void> {
    const results = await Promise.allSettled(this.#nodes.map((n) => n.start()));
    const failed = results.findIndex((r) => r.status === "rejected");
    if (failed >= 0) {
      await this.stop(5000);
      const reason = (results[failed] as PromiseRejectedResult).reason as Error;
      throw new ServiceStartError(`Node ${failed} of the local Kafka cluster did not start: ${reason.message}`);
    }
  }

  /** Restarts node `i` on its data: stops it gracefully if it runs, then starts it and waits for its port. */
  async restart(i: number): Promise<void> {
    const node = this.node(i);
    if (node.running) await node.stop();
    await node.start();
  }

  /**
   * Stops every node at once (controlled shutdown), killing what still runs
   * after `graceMs`. Resolves with whether a node had to be killed.
   *
   * A node's controlled shutdown needs the controller quorum's approval, which it gets only once it has caught up;
   * a node restarted moments ago may not have, and once the others have exited, two of three voters are gone and
   * no approval can come. So while every node runs, the stop first waits (at most `SETTLE_BEFORE_STOP_MS`) until
   * every partition, the internal ones included, has all its replicas in sync.
   */
  async stop(graceMs = 30_000): Promise<boolean> {
    if (this.#nodes.every((n) => n.running)) {
      await this.#withAdmin((admin) => admin.listTopics())
        .then((topics) => this.waitInSync(topics, SETTLE_BEFORE_STOP_MS))
        .catch(() => {});
    }
    const forced = await Promise.all(this.#nodes.map((n) => n.stop(graceMs)));
    return forced.some(Boolean);
  }

  /** Kills every node at once (SIGKILL). */
  async kill(): Promise<void> {
    await Promise.all(this.#nodes.map((n) => n.kill()));
  }

  /** Stops every node (see `stop`) and removes a temporary data directory. Resolves with `stop`'s. */
  async dispose(graceMs?: number): Promise<boolean> {
    const forced = await this.stop(graceMs);
    if (this.#ownsDir) await Deno.remove(this.dataDir, { recursive: true }).catch(() => {});
    return forced;
  }

  /** Runs `fn` with an admin client connected through the running nodes. */
  async #withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    const brokers = this.#nodes.filter((n) => n.running).map((n) => n.brokers);
    if (brokers.length === 0) throw new Error("No node of the local Kafka cluster is running");
    const kafka = await createKafka({ brokers, clientId: "local-cluster" }, {
      role: "admin",
      // Its connection errors are expected while a node is down; failures surface as rejections.
      logger: createLogger({ name: "local-cluster", level: "error", write: () => {} }),
      overrides: { retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 } },
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await fn(admin);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  /** Leader, replicas and ISR of every partition of `topics`, as the cluster's metadata says now. */
  describe(topics: string[]): Promise<PartitionState[]> {
    return this.#withAdmin(async (admin) => {
      const meta = await admin.fetchTopicMetadata({ topics });
      return meta.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionId,
          leader: p.leader,
          replicas: [...p.replicas].sort(),
          isr: [...p.isr].sort(),
        }))
      ).sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    });
  }

  /** The node that leads a partition now (waits up to `timeoutMs` while it has no leader). */
  async leaderOf(topic: string, partition: number, timeoutMs = 30_000): Promise<number> {
    return await waitFor(async () => {
      const p = (await this.describe([topic]).catch(() => [])).find((s) => s.partition === partition);
      return p && p.leader >= 0 && this.#nodes[p.leader]?.running ? p.leader : undefined;
    }, { timeoutMs, intervalMs: 250, what: `a leader of ${topic}[${partition}]` });
  }

  /**
   * The node whose controller leads the quorum (the active controller), as the running nodes last recorded it
   * (`quorum-state` of the metadata log, highest epoch); -1 when none of them knows a leader. Clients cannot ask:
   * in KRaft the metadata answer names a random broker as the controller.
   */
  async activeController(): Promise<number> {
    let best = { epoch: -1, leader: -1 };
    for (const node of this.#nodes) {
      if (!node.running) continue;
      const text = await Deno.readTextFile(`${node.dataDir}/logs/__cluster_metadata-0/quorum-state`)
        .catch(() => "");
      const state = (() => {
        try {
          return JSON.parse(text) as { leaderId?: number; leaderEpoch?: number };
        } catch {
          return {};
        }
      })();
      const epoch = state.leaderEpoch ?? -1;
      if (epoch > best.epoch) best = { epoch, leader: state.leaderId ?? -1 };
    }
    return best.leader >= 0 && this.#nodes[best.leader]?.running ? best.leader : -1;
  }

  /**
   * The node that coordinates a consumer group now: the leader of the
   * `__consumer_offsets` partition that holds the group. The topic exists once
   * some group has been used.
   */
  coordinatorOf(group: string, timeoutMs = 30_000): Promise<number> {
    return this.leaderOf("__consumer_offsets", offsetsPartitionOf(group), timeoutMs);
  }

  /**
   * Waits until every partition of `topics` has a leader and all its replicas
   * in sync (e.g. after a restart, before the next fault). Throws on timeout
   * with the last state.
   */
  async waitInSync(topics: string[], timeoutMs = 60_000): Promise<void> {
    let last: PartitionState[] = [];
    try {
      await waitFor(async () => {
        last = await this.describe(topics).catch(() => last);
        return last.length > 0 && last.every((p) => p.leader >= 0 && p.isr.length === p.replicas.length);
      }, { timeoutMs, intervalMs: 300 });
    } catch {
      const state = last.map((p) => `${p.topic}[${p.partition}] leader ${p.leader} isr [${p.isr}] of [${p.replicas}]`);
      throw new Error(`Partitions not in sync within ${timeoutMs / 1000} s: ${state.join("; ") || "no metadata"}`);
    }
  }
}
