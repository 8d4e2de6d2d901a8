/**
 * Failover matrix of Kafka clients on a local 3-node cluster (RF 3,
 * `min.insync.replicas=2`), for issue #14: which client recovers faster
 * without loss.
 *
 * `deno task bench failover [--scenarios a,b] [--rate N] [--seconds N]`, or
 * `deno run -A bench/failover/main.ts [...]` (not part of `deno task bench all`).
 *
 * One `LocalKafkaCluster` for the whole run; per scenario a fresh topic of 3
 * partitions stamped with the broker's append time (`LogAppendTime`), so that
 * stalls are read from the log itself.
 *
 * - Producer scenarios (`producer/<client>/<fault>`): clients `java` (Kafka's
 *   own Java client with its defaults, the reference: `java_producer_run.ts`,
 *   integers under repeating keys instead of readings), `native` (our
 *   `producer/kafka`, through the producer's own `nativeSender`), `kafkajs`
 *   (the producer's `kafkajsSender`: idempotent, acks all, one send at a
 *   time) and `platformatic` (`@platformatic/kafka` `Producer`, idempotent,
 *   acks all, one send at a time, records routed to the same partitions as the
 *   others); faults: SIGKILL or SIGTERM of partition 0's leader, and (Java
 *   and native) SIGKILL of the active controller's node, restarted
 *   `--restart-after` s later. A known per-sensor seq set is produced at a
 *   fixed rate (scheduled event times, the producer's back-pressure
 *   `InFlight`), every record the client acknowledged is remembered, and the
 *   topic is read back: acked, in topic, lost (acked and missing), duplicated,
 *   reordered per sensor, the stall of the partitions the victim did not lead
 *   and the recovery of those it led (longest gap between append times after
 *   the fault), and the errors the client reported. Every wait is bounded: a
 *   client whose sends have not settled `--bound` s after the last record was
 *   generated is reported `wedged`, not waited for.
 * - Consumer scenarios (`consumer/<client>/<fault>`): clients `kafkajs` (the
 *   processor's own source, `processor/source/consumer.ts`: group, eachBatch,
 *   manual commits of handled offsets) and `platformatic`
 *   (`@platformatic/kafka` `Consumer` in a group, `autocommit: false`, each
 *   partition's last handled message committed); faults: SIGKILL of the group
 *   coordinator, SIGKILL of a partition leader that is not the coordinator.
 *   While the native producer writes at a fixed rate, the consumer records the
 *   wall-clock time each record reached it and commits every 500 ms. Reported
 *   per partition: the longest gap between consumed records after the fault,
 *   the time from the fault to the first record consumed, records missing and
 *   consumed twice, commit errors, crashes and restarts; then a fresh consumer
 *   of the same group is started on a few marker records and must begin exactly
 *   at the committed offsets, with every offset below them consumed.
 *
 * Prints one JSON line per run on stdout and a markdown table at the end on
 * stderr; writes `bench/results/failover_clients.json` and `.md` (ignored by
 * git). Figures, not assertions: the exit code is 0 once every run reported,
 * 1 when a scenario could not run at all, 2 on a bad flag.
 *
 * Modules beside this one: `scenarios.ts` (the names, `--scenarios`),
 * `producer_runs.ts`, `producer_clients.ts` and `java_producer_run.ts`, `consumer_runs.ts`,
 * `consumer_clients.ts` and `consume_timing.ts`, `report.ts` (the tables),
 * `common.ts` (bounded waits, log capture, topic administration), `types.ts`.
 * @module
 */
import { parseFlags, runMain, usage, UsageError } from "@iot/shared";
import { LocalKafkaCluster } from "../../dev/kafka_cluster.ts";
import { consumerRun } from "./consumer_runs.ts";
import { javaProducerRun } from "./java_producer_run.ts";
import { producerRun } from "./producer_runs.ts";
import { markdownTable } from "./report.ts";
import { SCENARIOS, selectScenarios } from "./scenarios.ts";
import type {
  ConsumerClient,
  ConsumerFault,
  MatrixOptions,
  ProducerClient,
  ProducerFault,
  RunResult,
} from "./types.ts";

/** The flags of the matrix. */
export const FLAGS = {
  scenarios: { type: "string", default: "all", help: "Comma-separated scenario names or prefixes" },
  rate: { type: "number", default: 2000, min: 100, max: 20_000, integer: true, help: "Records per second" },
  seconds: { type: "number", default: 20, min: 10, max: 120, help: "Seconds of producing per run" },
  "fault-after": {
    type: "number",
    default: 5,
    min: 1,
    max: 60,
    help: "Seconds from the first ack/record to the fault",
  },
  "restart-after": { type: "number", default: 10, min: 1, max: 60, help: "Seconds from the fault to the restart" },
  bound: {
    type: "number",
    default: 60,
    min: 10,
    max: 300,
    help: "Seconds a client may take to settle after the last record",
  },
  sensors: { type: "number", default: 90, min: 3, max: 10_000, integer: true, help: "Simulated sensors" },
  write: { type: "boolean", default: true, help: "Write bench/results/failover_clients.{json,md}" },
} as const;

/** How `failoverMain` was invoked. */
export interface FailoverMainOptions {
  /** The flags (after the suite name, for `deno task bench failover`). */
  args: readonly string[];
  /** The command shown by `--help`. */
  command: string;
}

/** Runs the matrix the flags select; the exit code (a bad flag throws `UsageError`). */
export async function failoverMain({ args, command }: FailoverMainOptions): Promise<number> {
  const flags = parseFlags(args, FLAGS);
  if (flags.help) {
    console.log(usage(
      command,
      `Failover matrix of Kafka clients on a local 3-node cluster. Scenarios:\n  ${SCENARIOS.join("\n  ")}`,
      FLAGS,
    ));
    return 0;
  }
  const scenarios = selectScenarios(flags.scenarios);
  if (flags["restart-after"] + flags["fault-after"] >= flags.seconds) {
    throw new UsageError(
      `--fault-after + --restart-after (${
        flags["fault-after"] + flags["restart-after"]
      } s) must be below --seconds (${flags.seconds})`,
    );
  }
  const log = (l: string) => console.error(l);
  const o: MatrixOptions = {
    rate: flags.rate,
    seconds: flags.seconds,
    faultAfterMs: flags["fault-after"] * 1000,
    restartAfterMs: flags["restart-after"] * 1000,
    boundMs: flags.bound * 1000,
    sensors: flags.sensors,
    log,
  };
  const cluster = new LocalKafkaCluster({ nodes: 3, heap: "512m" });
  log(`failover_clients: starting a 3-node cluster on ${cluster.brokers} (${cluster.dataDir}) ...`);
  await cluster.start();
  const results: RunResult[] = [];
  let failures = 0;
  try {
    for (const [i, name] of scenarios.entries()) {
      const [kind, client, fault] = name.split("/");
      log(`failover_clients: ${name} ...`);
      const seed = 1400 + i;
      try {
        const r = kind === "producer" && client === "java"
          ? await javaProducerRun({ cluster, client: "java", fault: fault as ProducerFault, matrix: o })
          : kind === "producer"
          ? await producerRun({
            cluster,
            client: client as ProducerClient,
            fault: fault as ProducerFault,
            seed,
            matrix: o,
          })
          : await consumerRun({
            cluster,
            client: client as ConsumerClient,
            fault: fault as ConsumerFault,
            seed,
            matrix: o,
          });
        results.push(r);
        console.log(JSON.stringify({ failover_clients: name, ...r }));
      } catch (e) {
        failures++;
        log(`failover_clients: ${name} could not run: ${(e as Error).stack ?? e}`);
        console.log(JSON.stringify({ failover_clients: name, error: String((e as Error).message ?? e) }));
      }
      // Every node back and in sync before the next run.
      for (let n = 0; n < cluster.size; n++) {
        if (!cluster.node(n).running) await cluster.restart(n).catch(() => {});
      }
    }
  } finally {
    await cluster.dispose(30_000).catch(() => {});
  }
  const table = markdownTable(results);
  log(`\n${table}\n`);
  if (flags.write) {
    const dir = new URL("../results/", import.meta.url);
    await Deno.mkdir(dir, { recursive: true });
    const stamp = new Date().toISOString();
    await Deno.writeTextFile(
      new URL("failover_clients.json", dir),
      JSON.stringify({ at: stamp, o, results }, null, 2),
    );
    await Deno.writeTextFile(new URL("failover_clients.md", dir), `Failover matrix, ${stamp}\n\n${table}\n`);
    log("failover_clients: wrote bench/results/failover_clients.json and .md");
  }
  return failures ? 1 : 0;
}

if (import.meta.main) runMain(() => failoverMain({ args: Deno.args, command: "deno run -A bench/failover/main.ts" }));
