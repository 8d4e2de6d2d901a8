/**
 * Test helpers: a Kafka broker and a MongoDB-protocol server for a test file,
 * unique names, polling until a condition holds, and Kafka's own tools.
 *
 * `deno task test` starts one broker for the run and passes it as
 * `TEST_KAFKA_BROKERS`; each test file uses fresh topic and group names on it.
 * MongoDB is a fresh server per test file (its oplog is never trimmed), unless
 * `TEST_MONGO_URL` names one; then each file gets its own database.
 */
import { MongoClient } from "mongodb";
import { LocalKafka } from "./kafka.ts";
import { LocalMongo } from "./mongo.ts";

/** A broker for tests. */
export interface TestKafka {
  brokers: string[];
  /** The local broker, when this helper started one (for fault injection). */
  local?: LocalKafka;
  close(): Promise<void>;
}

/** A MongoDB-protocol server and a fresh database for tests. */
export interface TestMongo {
  url: string;
  dbName: string;
  client: MongoClient;
  /** The local server, when this helper started one. */
  local?: LocalMongo;
  close(): Promise<void>;
}

/** Returns the run's broker (`TEST_KAFKA_BROKERS`) or starts one for this file. */
export async function useKafka(): Promise<TestKafka> {
  const given = Deno.env.get("TEST_KAFKA_BROKERS");
  if (given) return { brokers: given.split(","), close: () => Promise.resolve() };
  const local = new LocalKafka();
  await local.start();
  return {
    brokers: [local.brokers],
    local,
    close: async () => {
      await local.dispose();
    },
  };
}

/** Starts a fresh broker for this file even when the run has one (for tests that stop or kill it). */
export async function ownKafka(): Promise<TestKafka> {
  const local = new LocalKafka();
  await local.start();
  return {
    brokers: [local.brokers],
    local,
    close: async () => {
      await local.dispose();
    },
  };
}

/** Starts a fresh MongoDB-protocol server (or uses `TEST_MONGO_URL`) with a fresh database. */
export async function useMongo(): Promise<TestMongo> {
  const dbName = uniqueName("test").replace(/-/g, "_");
  const given = Deno.env.get("TEST_MONGO_URL");
  if (given) {
    const client = new MongoClient(given);
    await client.connect();
    return {
      url: given,
      dbName,
      client,
      close: async () => {
        await client.db(dbName).dropDatabase().catch(() => {});
        await client.close();
      },
    };
  }
  const local = new LocalMongo({ engine: "java", heap: "1g" });
  await local.start();
  const client = new MongoClient(local.url);
  await client.connect();
  return {
    url: local.url,
    dbName,
    client,
    local,
    close: async () => {
      await client.close(true).catch(() => {});
      await local.dispose();
    },
  };
}

/** A name unique to this run: `prefix-<time>-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Options of `waitFor`. */
export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Says what was awaited, for the timeout error. */
  what?: string;
}

/** Polls `check` until it returns a value other than undefined/false, or throws on timeout with the last value. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitForOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let last: unknown;
  while (true) {
    last = await check();
    if (last !== undefined && last !== false) return last as T;
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${options.what ?? "a condition"} (last: ${JSON.stringify(last)})`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}

/** Every process descending from `root`, as pid → command name (from `ps`). */
export async function processTree(root: number): Promise<Map<number, string>> {
  const out = await new Deno.Command("ps", { args: ["-eo", "pid=,ppid=,comm="], stdout: "piped" }).output();
  const rows = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => l.trim().split(/\s+/));
  const tree = new Map<number, string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid, comm] of rows) {
      if ((Number(ppid) === root || tree.has(Number(ppid))) && !tree.has(Number(pid))) {
        tree.set(Number(pid), comm);
        grew = true;
      }
    }
  }
  return tree;
}

/** Whether a process is still running. */
export function isAlive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** What one run of a Kafka tool printed, and its exit code. */
export interface KafkaToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one of Kafka's own command-line tools from the cached jars (`deno task kafka <tool> ...`, `dev/kafka_cli.ts`),
 * with `input` on its standard input.
 */
export async function kafkaTool(args: string[], input = ""): Promise<KafkaToolResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "dev/kafka_cli.ts", ...args],
    cwd: new URL("../", import.meta.url).pathname,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const res = await child.output();
  const dec = new TextDecoder();
  return { code: res.code, stdout: dec.decode(res.stdout), stderr: dec.decode(res.stderr) };
}
