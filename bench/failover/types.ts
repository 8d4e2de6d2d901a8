/** The failover matrix's vocabulary: clients, faults, the settings of a run and the figures it reports. */
import type { LocalKafkaCluster } from "../../dev/kafka_cluster.ts";

/** Producer clients of the matrix (`java`: Kafka's own Java client, the reference). */
export type ProducerClient = "native" | "kafkajs" | "platformatic" | "java";
/** Consumer clients of the matrix. */
export type ConsumerClient = "kafkajs" | "platformatic";
/**
 * Faults of the producer runs: the victim leads partition 0 (`leader-*`), or is the node of the active controller
 * (`controller-sigkill`: the quorum elects a new controller before the dead node is fenced).
 */
export type ProducerFault = "leader-sigkill" | "leader-sigterm" | "controller-sigkill";
/** Faults of the consumer runs. */
export type ConsumerFault = "coordinator-sigkill" | "leader-sigkill";

/** Settings shared by every run. */
export interface MatrixOptions {
  rate: number;
  seconds: number;
  /** From the first acknowledgement (producer) or consumed record (consumer) to the fault, ms. */
  faultAfterMs: number;
  /** From the fault to the restart of the victim, ms. */
  restartAfterMs: number;
  /** How long sends may stay unsettled after the last record was generated (producer), or the consumer may take to catch up after the producer finished, ms. */
  boundMs: number;
  sensors: number;
  log: (line: string) => void;
}

/** One run of the matrix: where, which client against which fault, and the settings shared by every run. */
export interface RunOptions<Client, Fault> {
  cluster: LocalKafkaCluster;
  client: Client;
  fault: Fault;
  /** Seed of the generated fleet. */
  seed: number;
  matrix: MatrixOptions;
}

/** Figures of one producer run. */
export interface ProducerRunResult {
  scenario: string;
  kind: "producer";
  client: ProducerClient;
  fault: ProducerFault;
  rate: number;
  seconds: number;
  victim: number;
  /** The node of the active controller before the fault (its loss adds the quorum's election to the fence). */
  controller: number;
  affectedPartitions: number[];
  generated: number;
  /** Records handed to the client. */
  sent: number;
  acked: number;
  /** Records whose send the client reported as failed. */
  failed: number;
  /** Records still unsettled when the bound passed, or never handed over. */
  unsettled: number;
  inTopic: number;
  /** Acknowledged records missing from the topic. */
  lost: number;
  lostExamples: string[];
  /** Records whose send the client reported as failed that are in the topic all the same. */
  failedButWritten: number;
  /** Generated records missing from the topic (lost, failed or unsettled). */
  missing: number;
  duplicated: number;
  reordered: number;
  invalid: number;
  /**
   * Longest gap between appends after the fault on the partitions the victim led, ms; null when one of them had
   * no append after the fault at all (it never recovered within the run).
   */
  recoveryMs: number | null;
  /** The same on the other partitions, ms (null: one of them had no append after the fault). */
  stallOfOthersMs: number | null;
  maxGapAfterFaultMs: Record<number, number>;
  firstAfterFaultMs: Record<number, number>;
  /** Failed sends, and distinct error messages with their counts. */
  errors: number;
  errorMessages: Record<string, number>;
  /** Warning and error lines the client logged (kafkajs, native). */
  logWarnings: number;
  /** Every send settled within the bound. */
  finished: boolean;
  wedged: boolean;
  /** From the first send to the last settlement (or to the bound), ms. */
  runMs: number;
  notes: string[];
}

/** Figures of one consumer run. */
export interface ConsumerRunResult {
  scenario: string;
  kind: "consumer";
  client: ConsumerClient;
  fault: ConsumerFault;
  rate: number;
  seconds: number;
  victim: number;
  coordinator: number;
  /** The node of the active controller before the fault. */
  controller: number;
  victimLedPartitions: number[];
  /** Records the producer acknowledged, and failed. */
  producerAcked: number;
  producerFailed: number;
  inTopic: number;
  /** Distinct records consumed (by partition and offset). */
  consumedDistinct: number;
  /** Records in the topic never consumed. */
  missing: number;
  /** Deliveries beyond the first of a record. */
  redelivered: number;
  /** Per partition: longest gap between consumed records after the fault (the fault counts as the first), ms. */
  maxConsumeGapAfterFaultMs: Record<number, number>;
  /**
   * Per partition: from the fault to the first consumption of the first record appended after the fault (null:
   * never consumed), ms. Records appended before the fault but consumed after it do not count.
   */
  firstConsumedAfterFaultMs: Record<number, number | null>;
  /** Per partition: longest gap between appends after the fault (what the producer caused), ms. */
  appendGapAfterFaultMs: Record<number, number>;
  commits: number;
  commitErrors: number;
  /** Commits the kafkajs source deferred because the group was not joined. */
  commitsDeferred: number;
  commitErrorMessages: Record<string, number>;
  crashed: boolean;
  restarts: number;
  logWarnings: number;
  warningMessages: Record<string, number>;
  /** Consumed everything in the topic within the bound. */
  caughtUp: boolean;
  /** From the fault to having consumed the whole topic, polled once the producer finished (so not below its end), ms. */
  caughtUpAfterFaultMs: number | null;
  /** Committed offsets of the group after the run, per partition (-1: none). */
  committed: Record<number, number>;
  /** Per partition: the first offset a fresh consumer of the group read (null: none within the bound). */
  freshStart: Record<number, number | null>;
  /** A fresh consumer started exactly at the committed offsets, and every offset below them was consumed. */
  resumeExact: boolean;
  finished: boolean;
  runMs: number;
  notes: string[];
}

/** One run's figures. */
export type RunResult = ProducerRunResult | ConsumerRunResult;
