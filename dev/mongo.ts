/**
 * A local MongoDB-protocol server: mongo-java-server (in memory, oplog on, so
 * change streams work), or a real `mongod` single-node replica set when one is
 * on PATH and asked for.
 */
import { MongoClient } from "mongodb";
import { COLLECTIONS, ServiceStartError } from "@iot/shared";
import { ensureHelperClasses, ensureJars } from "./jars.ts";
import { freePort, ManagedProcess, waitForPort } from "./process.ts";
import { type RetentionRule, StandInRetention } from "./stand_in_retention.ts";

/** Counters of the stand-in's oplog (see `StreamOplog.stats`). */
export interface OplogStats {
  /** Entries held now. */
  entries: number;
  /** Watched namespaces (the only ones recorded). */
  namespaces: string[];
  appended: number;
  trimmed: number;
  /** Change-stream batches (first batch and getMores) served since the last reset. */
  batches: number;
  /** Oplog entries those batches read. */
  scanned: number;
  maxScannedPerBatch: number;
  /** updateLookup reads. */
  lookups: number;
  retentionSeconds: number;
  maxEntriesPerNamespace: number;
}

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
   * Oplog entries (of watched collections only, see `dev/java/StreamOplog.java`)
   * older than this are dropped every second; default 600 s. Change streams
   * resuming from before that see nothing older. Ignored for mongod.
   */
  oplogRetentionSeconds?: number;
  /** Most oplog entries kept per watched collection; default 200,000. Ignored for mongod. */
  oplogMaxEntries?: number;
  /**
   * When set, raw readings (`sensor_metrics` of every database) older than this
   * are deleted: the stand-in keeps all data in its heap and its TTL indexes are
   * inert. Ignored for mongod. See `retention` for the count bounds.
   */
  rawRetentionSeconds?: number;
  /** Count bounds and window retention of the stand-in (with `rawRetentionSeconds`); see `standInBounds`. */
  retention?: Pick<StandInBounds, "maxReadings" | "windowRetentionSeconds" | "maxWindows" | "maxEvents">;
  /** Progress messages (e.g. the retention notices). */
  log?: (message: string) => void;
}

/** Bounds of the in-memory stand-in for long runs (`deno task services` and `deno task up` use the same). */
export interface StandInBounds {
  /** JVM heap, e.g. "3g". */
  heap: string;
  oplogRetentionSeconds: number;
  oplogMaxEntries: number;
  rawRetentionSeconds: number;
  /** Most raw readings kept (per database); the oldest go first. */
  maxReadings: number;
  /** Windows older than this (by `window_start`) are deleted, seconds. */
  windowRetentionSeconds: number;
  /** Most windows kept (per database). */
  maxWindows: number;
  /** Most anomaly events kept (per database); their age limit is the raw readings'. */
  maxEvents: number;
}

/**
 * The stand-in's bounds: 3 GB heap, 600 s of oplog (at most 200,000 entries per
 * watched collection), 15 minutes of raw readings but at most 600,000 of them,
 * and an hour of windows but at most 200,000 (raw readings are kept as BSON
 * bytes: 300,000 took 147 MB of heap after a full GC, 616 MB as documents; the
 * count bound holds because each deletion round and each sensor page reads every
 * raw reading). Overrides from the environment: `IOT_MONGO_HEAP`,
 * `IOT_MONGO_OPLOG_SECONDS`, `RAW_RETENTION_DAYS`, `IOT_MONGO_MAX_READINGS`,
 * `IOT_MONGO_WINDOW_RETENTION_S`, `IOT_MONGO_MAX_WINDOWS`.
 */
export function standInBounds(env: Record<string, string | undefined> = Deno.env.toObject()): StandInBounds {
  const positive = (name: string, fallback: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new ServiceStartError(`${name} must be a positive number, got "${raw}"`);
    return n;
  };
  const heap = env.IOT_MONGO_HEAP?.trim() || "3g";
  if (!/^\d+[mMgG]$/.test(heap)) throw new ServiceStartError(`IOT_MONGO_HEAP must look like 512m or 3g, got "${heap}"`);
  return {
    heap,
    oplogRetentionSeconds: Math.ceil(positive("IOT_MONGO_OPLOG_SECONDS", 600)),
    oplogMaxEntries: 200_000,
    rawRetentionSeconds: Math.ceil(positive("RAW_RETENTION_DAYS", 900 / 86400) * 86400),
    maxReadings: Math.ceil(positive("IOT_MONGO_MAX_READINGS", DEFAULT_COUNT_BOUNDS.maxReadings)),
    windowRetentionSeconds: Math.ceil(
      positive("IOT_MONGO_WINDOW_RETENTION_S", DEFAULT_COUNT_BOUNDS.windowRetentionSeconds),
    ),
    maxWindows: Math.ceil(positive("IOT_MONGO_MAX_WINDOWS", DEFAULT_COUNT_BOUNDS.maxWindows)),
    maxEvents: Math.ceil(positive("IOT_MONGO_MAX_EVENTS", DEFAULT_COUNT_BOUNDS.maxEvents)),
  };
}

/** Count bounds used when `LocalMongoOptions.retention` leaves them out. */
const DEFAULT_COUNT_BOUNDS = {
  maxReadings: 600_000,
  windowRetentionSeconds: 3600,
  maxWindows: 200_000,
  maxEvents: 100_000,
};

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
  #retention?: StandInRetention;
  #retentionClient?: MongoClient;

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
          // What survives one young collection is stored data (documents, oplog entries) and lives on:
          // promoted at once instead of copied between survivor spaces up to 15 times. At 1k msg/s in
          // the latency bench (2 runs each): young pauses 1.26 s in all instead of 1.61 s, longest 53–92 ms
          // instead of 85–131 ms.
          "-XX:MaxTenuringThreshold=1",
          "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
          // Expected conditions, not warnings: "Closing N clients" at shutdown, and "adding secondary
          // index ... is not yet implemented" for every index (the stand-in's documented limitation;
          // the processor says what it means). Errors of these loggers still print.
          "-Dorg.slf4j.simpleLogger.log.de.bwaldvogel.mongo.MongoServer=error",
          "-Dorg.slf4j.simpleLogger.log.de.bwaldvogel.mongo.backend.AbstractMongoDatabase=error",
          ...(this.options.oplogRetentionSeconds
            ? [`-Diot.oplog.retentionSeconds=${this.options.oplogRetentionSeconds}`]
            : []),
          ...(this.options.oplogMaxEntries ? [`-Diot.oplog.maxEntries=${this.options.oplogMaxEntries}`] : []),
          // Raw readings are most of what the stand-in holds: kept as BSON bytes (dev/java/CompactCollection.java).
          `-Diot.compactCollections=${COLLECTIONS.readings}`,
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
    else {
      if (this.options.oplogRetentionSeconds) {
        this.options.log?.(
          `mongo-java-server never trims its oplog; ours keeps the last ${this.options.oplogRetentionSeconds} s ` +
            "of watched collections so that memory stays bounded",
        );
      }
      if (this.options.rawRetentionSeconds) this.#startRawRetention(this.options.rawRetentionSeconds);
    }
  }

  /** The stand-in's oplog counters (`dev/java/StreamOplog.java`); `reset` zeroes the per-batch ones. */
  async oplogStats(reset = false): Promise<OplogStats> {
    if (this.#engine !== "java") throw new ServiceStartError("Oplog statistics exist only for the java stand-in");
    const client = new MongoClient(this.url, { serverSelectionTimeoutMS: 2000 });
    try {
      const { ok: _ok, ...stats } = await client.db("admin").command({ iotOplogStats: 1, reset });
      return stats as OplogStats;
    } finally {
      await client.close();
    }
  }

  #startRawRetention(seconds: number): void {
    const bounds = { ...DEFAULT_COUNT_BOUNDS, ...this.options.retention };
    const rules: RetentionRule[] = [
      { collection: COLLECTIONS.readings, field: "timestamp", maxAgeSeconds: seconds, maxDocs: bounds.maxReadings },
      { collection: COLLECTIONS.events, field: "timestamp", maxAgeSeconds: seconds, maxDocs: bounds.maxEvents },
      {
        collection: COLLECTIONS.windows,
        field: "window_start",
        maxAgeSeconds: bounds.windowRetentionSeconds,
        maxDocs: bounds.maxWindows,
      },
    ];
    const minutes = (s: number) => (s >= 120 ? `${Math.round(s / 60)} minutes` : `${s} s`);
    this.options.log?.(
      `The in-memory MongoDB stand-in keeps raw readings (${COLLECTIONS.readings}) for ${minutes(seconds)}, at most ` +
        `${bounds.maxReadings}, and windows for ${
          minutes(bounds.windowRetentionSeconds)
        }, at most ${bounds.maxWindows} ` +
        `(RAW_RETENTION_DAYS, IOT_MONGO_MAX_READINGS, IOT_MONGO_WINDOW_RETENTION_S, IOT_MONGO_MAX_WINDOWS override); ` +
        `anomaly events (${COLLECTIONS.events}) as long as raw readings, at most ${bounds.maxEvents} (IOT_MONGO_MAX_EVENTS)`,
    );
    const client = new MongoClient(this.url, { serverSelectionTimeoutMS: 2000 });
    this.#retentionClient = client;
    this.#retention = new StandInRetention({ client, rules, log: this.options.log });
    this.#retention.start();
  }

  async #stopRawRetention(): Promise<void> {
    await this.#retention?.stop();
    this.#retention = undefined;
    await this.#retentionClient?.close(true).catch(() => {});
    this.#retentionClient = undefined;
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

  /**
   * Stops the server (its in-memory data is gone for mongo-java-server), killing
   * it after `graceMs`. Resolves with whether it had to be killed.
   */
  async stop(graceMs = 10_000): Promise<boolean> {
    await this.#stopRawRetention();
    await this.#proc?.stop(graceMs);
    return this.#proc?.forced ?? false;
  }

  /** Kills the server at once. */
  async kill(): Promise<void> {
    await this.#stopRawRetention();
    await this.#proc?.kill();
  }

  /** Stops the server (killing it after `graceMs`) and removes a mongod data directory. Resolves with `stop`'s. */
  async dispose(graceMs?: number): Promise<boolean> {
    const forced = await this.stop(graceMs);
    if (this.#dbPath) await Deno.remove(this.#dbPath, { recursive: true }).catch(() => {});
    return forced;
  }
}
