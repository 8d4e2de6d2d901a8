/**
 * Another client the team did not write: Apache Kafka's own console producer
 * (`deno task kafka console-producer`, run from the cached jars) with
 * `parse.key=true`, one `key<TAB>value` line per record, `--sync` and
 * `acks=all`: it exits 0 only once the broker acknowledged every line.
 */

/** One record for the console producer (neither part may hold a tab or a newline). */
export interface ConsoleRecord {
  key: string;
  value: string;
}

/** Options of `sendWithConsoleProducer`. */
export interface ConsoleProducerOptions {
  brokers: string[];
  topic: string;
  records: ConsoleRecord[];
  /** Bound on the run, JVM start included (default 120 s). */
  timeoutMs?: number;
}

const root = new URL("../../", import.meta.url).pathname;

/**
 * Sends the records with Kafka's console producer; resolves with the number
 * acknowledged (all of them) or throws with the tool's last lines of stderr.
 *
 * @example
 * ```ts
 * await sendWithConsoleProducer({
 *   brokers: ["127.0.0.1:9092"],
 *   topic: "sensor-data",
 *   records: [{ key: "lab-7", value: '{"sensor_id":"lab-7",...}' }],
 * });
 * ```
 */
export async function sendWithConsoleProducer(o: ConsoleProducerOptions): Promise<number> {
  for (const r of o.records) {
    if (/[\t\r\n]/.test(r.key + r.value)) throw new Error(`Record ${r.key} holds a tab or a line break`);
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${root}dev/kafka_cli.ts`,
      "console-producer",
      "--bootstrap-server",
      o.brokers.join(","),
      "--topic",
      o.topic,
      "--property",
      "parse.key=true",
      "--request-required-acks",
      "-1",
      "--sync",
    ],
    cwd: root,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(o.timeoutMs ?? 120_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(o.records.map((r) => `${r.key}\t${r.value}\n`).join("")));
  await writer.close();
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr).trim();
  if (!out.success) {
    throw new Error(`The console producer exited with ${out.code}: ${stderr.split("\n").slice(-5).join(" | ")}`);
  }
  return o.records.length;
}
