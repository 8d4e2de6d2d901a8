/**
 * A local MongoDB-protocol server: mongo-java-server (in memory, oplog on, so
 * change streams work), or a real `mongod` single-node replica set when one is
 * on PATH and asked for.
 */
import { MongoClient } from "mongodb";
import { ServiceStartError } from "@iot/shared";
import { ensureHelperClasses, ensureJars } from "./jars.ts";
import { freePort, ManagedProcess, waitForPort } from "./process.ts";

/** Which server runs. */
export type MongoEngine = "java" | "mongod";

/** Options of `LocalMongo`. */
export interface LocalMongoOptions {
  /** Port (0 or absent: a free one). */
  port?: number;
  /** Server; default: `IOT_MONGO_ENGINE`, else "mongod" when on PATH, else "java". */
  engine?: MongoEngine;
  /** JVM heap of mongo-java-server, e.g. "2g". */
  heap?: string;
  /** Receives each output line. */
  onLine?: (line: string) => void;
  /** Start-up deadline in ms. */
  startTimeoutMs?: number;
  /**
   * mongo-java-server never trims its oplog, so a long run grows its heap
   * without bound. When set, oplog entries older than this are deleted every
   * 10 s (change streams resuming from before that fail, as on a real server
   * whose oplog rolled over). Ignored for mongod.
   */
  oplogRetentionSeconds?: number;
  /** Progress messages (e.g. the oplog trimming notice). */
  log?: (message: string) => void;
}

/** Whether an executable is on PATH. */
export async function onPath(name: string): Promise<boolean> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      const s = await Deno.stat(`${dir}/${name}`);
      if (s.isFile) return true;
    } catch { /* not here */ }
  }
  return false;
}

/** A MongoDB-protocol server process. */
export class LocalMongo {
  readonly port: number;
  #engine?: MongoEngine;
  #proc?: ManagedProcess;
  #dbPath?: string;
  #trimTimer?: ReturnType<typeof setInterval>;
  #trimClient?: MongoClient;

  constructor(readonly options: LocalMongoOptions = {}) {
    this.port = options.port || freePort();
  }

  /** The engine actually used (known after `start`). */
  get engine(): MongoEngine | undefined {
    return this.#engine;
  }

  /** Connection string. */
  get url(): string {
    return this.#engine === "mongod"
      ? `mongodb://127.0.0.1:${this.port}/?replicaSet=rs0&directConnection=true`
      : `mongodb://127.0.0.1:${this.port}/?directConnection=true`;
  }

  /** Whether the server process is running. */
  get running(): boolean {
    return !!this.#proc && !this.#proc.exited;
  }

  /** Process id of the running server (for CPU accounting), if any. */
  get pid(): number | undefined {
    return this.#proc && !this.#proc.exited ? this.#proc.pid : undefined;
  }

  /** The last lines of the server's output. */
  tail(n = 40): string {
    return this.#proc?.tail(n) ?? "";
  }

  /** Starts the server and waits until it accepts connections (and, for mongod, has a primary). */
  async start(): Promise<void> {
    if (this.running) return;
    const wanted = this.options.engine ?? (Deno.env.get("IOT_MONGO_ENGINE") as MongoEngine | undefined);
    this.#engine = wanted ?? ((await onPath("mongod")) ? "mongod" : "java");
    const timeout = this.options.startTimeoutMs ?? 60_000;
    if (this.#engine === "mongod") {
      this.#dbPath ??= await Deno.makeTempDir({ prefix: "iot-mongod-" });
      this.#proc = await ManagedProcess.spawn({
        name: "mongod",
        cmd: "mongod",
        args: [
          "--replSet",
          "rs0",
          "--bind_ip",
          "127.0.0.1",
          "--port",
          String(this.port),
          "--dbpath",
          this.#dbPath,
          "--quiet",
        ],
        ownSession: true,
        onLine: this.options.onLine,
      });
    } else {
      const [libs, classes] = await Promise.all([ensureJars("mongo"), ensureHelperClasses()]);
      const heap = this.options.heap ?? "1g";
      this.#proc = await ManagedProcess.spawn({
        name: "mongo",
        cmd: "java",
        args: [
          `-Xmx${heap}`,
          "-XX:+UseG1GC",
          "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
          "-cp",
          `${libs}/*:${classes}`,
          "ParentWatch",
          "MongoLauncher",
          "127.0.0.1",
          String(this.port),
        ],
        stdinPipe: true,
        ownSession: true,
        onLine: this.options.onLine,
      });
    }
    const up = await waitForPort(this.port, timeout, this.#proc.status);
    if (!up) {
      const tail = this.#proc.tail(30);
      await this.#proc.stop(5000);
      throw new ServiceStartError(
        `MongoDB (${this.#engine}) did not accept connections on port ${this.port} within ${
          timeout / 1000
        } s. Last output:\n${tail}`,
      );
    }
    if (this.#engine === "mongod") await this.#initiateReplicaSet(timeout);
    else if (this.options.oplogRetentionSeconds) this.#startOplogTrimming(this.options.oplogRetentionSeconds);
  }

  #startOplogTrimming(seconds: number): void {
    this.options.log?.(
      `mongo-java-server never trims its oplog: keeping the last ${seconds} s of it so that memory stays bounded`,
    );
    const client = new MongoClient(this.url, { serverSelectionTimeoutMS: 2000 });
    this.#trimClient = client;
    let busy = false;
    this.#trimTimer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        await client.db("local").collection("oplog.rs").deleteMany({
          wall: { $lt: new Date(Date.now() - seconds * 1000) },
        });
      } catch { /* server stopping or busy: next round */ }
      busy = false;
    }, 10_000);
  }

  async #stopOplogTrimming(): Promise<void> {
    clearInterval(this.#trimTimer);
    this.#trimTimer = undefined;
    await this.#trimClient?.close(true).catch(() => {});
    this.#trimClient = undefined;
  }

  async #initiateReplicaSet(timeoutMs: number): Promise<void> {
    const client = new MongoClient(`mongodb://127.0.0.1:${this.port}/?directConnection=true`);
    try {
      const admin = client.db("admin");
      try {
        await admin.command({
          replSetInitiate: { _id: "rs0", members: [{ _id: 0, host: `127.0.0.1:${this.port}` }] },
        });
      } catch (e) {
        if (!/already initialized/i.test((e as Error).message)) throw e;
      }
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const hello = await admin.command({ hello: 1 });
        if (hello.isWritablePrimary) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new ServiceStartError(`mongod on port ${this.port} did not become primary in time`);
    } finally {
      await client.close();
    }
  }

  /** Stops the server (its in-memory data is gone for mongo-java-server). */
  async stop(): Promise<void> {
    await this.#stopOplogTrimming();
    await this.#proc?.stop(10_000);
  }

  /** Kills the server at once. */
  async kill(): Promise<void> {
    await this.#stopOplogTrimming();
    await this.#proc?.kill();
  }

  /** Stops the server and removes a mongod data directory. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.#dbPath) await Deno.remove(this.#dbPath, { recursive: true }).catch(() => {});
  }
}
