/**
 * A client the team did not write: kafka-python from PyPI (installed into a
 * cached virtualenv by `install_kafka_python.sh`, which `.ci/run` also runs),
 * driving `reference_producer.py`. Returns what kafka-python reports as
 * acknowledged, for tests to compare with the topic, the processor or MongoDB.
 */

/** One record kafka-python reported as acknowledged. */
export interface AckedRecord {
  partition: number;
  offset: number;
  key: string;
  /** The message value as sent (JSON text). */
  value: string;
}

/** What one run of the reference producer did. */
export interface ReferenceRun {
  sent: number;
  acked: AckedRecord[];
  /** One line per send kafka-python did not acknowledge. */
  errors: string[];
}

/** Options of `sendReferenceReadings`. */
export interface ReferenceOptions {
  brokers: string[];
  topic: string;
  /** Readings to send (default 300). */
  count?: number;
  /** Distinct sensors, round robin (default 12). */
  sensors?: number;
  /** Seed of the values (default 13). */
  seed?: number;
  /** Bound on the whole run, install included (default 180 s). */
  timeoutMs?: number;
}

const here = new URL("./", import.meta.url).pathname;

/** Installs kafka-python if needed (idempotent, cached) and returns the virtualenv's python. */
export async function kafkaPython(signal?: AbortSignal): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: [`${here}install_kafka_python.sh`],
    stdout: "piped",
    stderr: "piped",
    signal,
  }).output();
  const err = new TextDecoder().decode(out.stderr).trim();
  if (!out.success) throw new Error(`Installing kafka-python failed: ${err.split("\n").slice(-3).join(" | ")}`);
  return new TextDecoder().decode(out.stdout).trim();
}

/**
 * Sends readings in the reference format with kafka-python and returns what
 * it acknowledged.
 *
 * @example
 * ```ts
 * const run = await sendReferenceReadings({ brokers: ["127.0.0.1:9092"], topic: "sensor-data", count: 100 });
 * console.log(run.acked.length, run.errors);
 * ```
 */
export async function sendReferenceReadings(o: ReferenceOptions): Promise<ReferenceRun> {
  const signal = AbortSignal.timeout(o.timeoutMs ?? 180_000);
  const python = await kafkaPython(signal);
  const out = await new Deno.Command(python, {
    args: [
      `${here}reference_producer.py`,
      "--brokers",
      o.brokers.join(","),
      "--topic",
      o.topic,
      "--count",
      String(o.count ?? 300),
      "--sensors",
      String(o.sensors ?? 12),
      "--seed",
      String(o.seed ?? 13),
    ],
    stdout: "piped",
    stderr: "piped",
    signal,
  }).output();
  const stderr = new TextDecoder().decode(out.stderr).trim();
  if (!out.success) {
    throw new Error(`reference_producer.py exited with ${out.code}: ${stderr.split("\n").slice(-5).join(" | ")}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout)) as ReferenceRun;
}
