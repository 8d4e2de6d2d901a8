/** Starts the infrastructure of the pipeline: Kafka and MongoDB, local or given by env. */
import { LocalKafka } from "./kafka.ts";
import { LocalMongo } from "./mongo.ts";

/** Options of `startServices`. */
export interface StartServicesOptions {
  kafkaPort?: number;
  mongoPort?: number;
  /** Kafka data directory kept between runs. */
  dataDir?: string;
  /** Heap of the in-memory MongoDB stand-in. */
  mongoHeap?: string;
  /** Progress messages. */
  log?: (message: string) => void;
  /** Receives service output lines. */
  onLine?: (service: "kafka" | "mongo", line: string) => void;
  /** Environment to read KAFKA_BROKERS / MONGO_URL from. */
  env?: Record<string, string | undefined>;
}

/** Running services. */
export interface RunningServices {
  kafkaBrokers: string;
  mongoUrl: string;
  kafka?: LocalKafka;
  mongo?: LocalMongo;
  /** Resolves with a message when a service started here exits unexpectedly. */
  failed: Promise<string>;
  /** Stops what was started here (Kafka last, so that clients can flush). */
  stop(): Promise<void>;
}

/** Starts local Kafka and MongoDB unless KAFKA_BROKERS / MONGO_URL are given. */
export async function startServices(options: StartServicesOptions = {}): Promise<RunningServices> {
  const env = options.env ?? Deno.env.toObject();
  const log = options.log ?? (() => {});
  let kafka: LocalKafka | undefined;
  let mongo: LocalMongo | undefined;
  let stopping = false;
  const started: Promise<void>[] = [];
  if (!env.KAFKA_BROKERS) {
    kafka = new LocalKafka({
      port: options.kafkaPort,
      dataDir: options.dataDir,
      heap: "1g",
      onLine: options.onLine && ((l) => options.onLine!("kafka", l)),
    });
    log(`Starting Kafka ${"4.1.1"} on 127.0.0.1:${kafka.port} ...`);
    started.push(kafka.start());
  } else {
    log(`Using Kafka at ${env.KAFKA_BROKERS} (KAFKA_BROKERS)`);
  }
  if (!env.MONGO_URL) {
    mongo = new LocalMongo({
      port: options.mongoPort,
      heap: options.mongoHeap ?? "3g",
      oplogRetentionSeconds: 600,
      log,
      onLine: options.onLine && ((l) => options.onLine!("mongo", l)),
    });
    log(`Starting MongoDB-protocol server on 127.0.0.1:${mongo.port} ...`);
    started.push(mongo.start());
  } else {
    log("Using MongoDB at MONGO_URL");
  }
  const stop = async () => {
    stopping = true;
    await mongo?.dispose();
    await kafka?.dispose();
  };
  const results = await Promise.allSettled(started);
  const failure = results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
  if (failure) {
    await stop();
    throw failure.reason;
  }
  if (mongo) log(`MongoDB ready (${mongo.engine === "java" ? "mongo-java-server, in memory" : "mongod replica set"})`);
  if (kafka) log("Kafka ready");
  const failed = new Promise<string>((resolve) => {
    const watch = (name: string, svc?: { running: boolean; tail(n?: number): string }) => {
      if (!svc) return;
      const timer = setInterval(() => {
        if (!stopping && !svc.running) {
          clearInterval(timer);
          resolve(`${name} exited unexpectedly. Last output:\n${svc.tail(20)}`);
        }
        if (stopping) clearInterval(timer);
      }, 500);
    };
    watch("Kafka", kafka);
    watch("MongoDB", mongo);
  });
  return {
    kafkaBrokers: kafka ? kafka.brokers : env.KAFKA_BROKERS!,
    mongoUrl: mongo ? mongo.url : env.MONGO_URL!,
    kafka,
    mongo,
    failed,
    stop,
  };
}
