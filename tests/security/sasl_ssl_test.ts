/**
 * The programs through a SASL_SSL listener of a local broker (certificates and
 * SCRAM users made at test time): the native producer with each mechanism and
 * a client certificate, the producer CLI, the processor CLI and the web's
 * Kafka monitor end to end into MongoDB, and refused logins failing fast with
 * one line and a non-zero exit.
 */
import assert from "node:assert/strict";
import { COLLECTIONS, createLogger, loadKafkaSecurity } from "@iot/shared";
import { KafkaAuthenticationError, NativeProducer, type NativeProducerOptions } from "../../producer/kafka/mod.ts";
import { uniqueName, useMongo, waitFor } from "../../dev/testing.ts";
import { loadWebConfig, startWeb } from "../../web/server.ts";
import { type SecureKafka, startSecureKafka, USERS } from "./secure_kafka.ts";

const logger = createLogger({ name: "test", level: "warn" });
const opts = { sanitizeOps: false, sanitizeResources: false };
const PRODUCER = new URL("../../producer/main.ts", import.meta.url).pathname;
const PROCESSOR = new URL("../../processor/main.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

function program(main: string, args: string[], env: Record<string, string>): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, ...args],
    env: { LOG_FORMAT: "json", LOG_LEVEL: "info", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

function nativeOptions(k: SecureKafka, env: Record<string, string>, topic: string): NativeProducerOptions {
  return {
    brokers: [k.brokers],
    clientId: "security-test",
    topic,
    acks: -1,
    idempotent: true,
    compression: "none",
    security: loadKafkaSecurity(env),
    logger,
  };
}

/** The error-level lines of a JSON log, and the plain `error:`/`fatal:` lines. */
function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.includes('"level":"error"') || /^(error|fatal):/.test(l));
}

Deno.test("programs work through SASL_SSL and refuse wrong credentials", opts, async (t) => {
  const k = await startSecureKafka();
  try {
    await t.step("the native producer authenticates with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 over TLS", async () => {
      const topic = uniqueName("sec-native");
      // The producer CLI creates the topic through kafkajs; here the native client needs it to exist.
      const create = await program(PRODUCER, ["--count", "1", "--topic", topic, "--stats-interval", "0"], {
        ...k.env(USERS.scram256),
      }).output();
      assert.equal(create.code, 0, decoder.decode(create.stderr));
      for (const user of Object.values(USERS)) {
        const p = await NativeProducer.connect(nativeOptions(k, k.env(user), topic));
        try {
          const outcome = await p.send([{ key: "sensor_0001", value: `{"user":"${user.username}"}` }], Date.now());
          assert.deepEqual(outcome, { acked: 1, failed: 0 }, user.mechanism);
        } finally {
          p.close();
        }
      }
      // A client certificate signed by the broker's trusted CA is accepted.
      const withCert = {
        ...k.env(USERS.scram512),
        KAFKA_SSL_CERT_FILE: k.certs.clientCertFile,
        KAFKA_SSL_KEY_FILE: k.certs.clientKeyFile,
      };
      const p = await NativeProducer.connect(nativeOptions(k, withCert, topic));
      assert.equal((await p.send([{ key: "k", value: "v" }], Date.now())).acked, 1);
      p.close();
    });

    await t.step(
      "the native producer fails at once on a wrong password, an untrusted CA or client certificate",
      async () => {
        const topic = uniqueName("sec-refused");
        const cases: [string, Record<string, string>, RegExp][] = [
          ["wrong password", k.env({ ...USERS.scram256, password: "wrong" }), /authentication of user alice .*failed/],
          ["wrong SCRAM-SHA-512 password", k.env({ ...USERS.scram512, password: "x" }), /SCRAM-SHA-512/],
          ["wrong PLAIN password", k.env({ ...USERS.plain, password: "x" }), /SASL PLAIN authentication/],
          [
            "untrusted server",
            { ...k.env(USERS.plain), KAFKA_SSL_CA_FILE: `${k.certs.dir}/stranger-ca.pem` },
            /UnknownIssuer/,
          ],
          [
            "untrusted client certificate",
            {
              ...k.env(USERS.plain),
              KAFKA_SSL_CERT_FILE: k.certs.strangerCertFile,
              KAFKA_SSL_KEY_FILE: k.certs.strangerKeyFile,
            },
            /refused the TLS connection/,
          ],
        ];
        for (const [what, env, message] of cases) {
          await assert.rejects(
            NativeProducer.connect({ ...nativeOptions(k, env, topic), connectTimeoutMs: 5000 }),
            (e: Error) => {
              assert.ok(e instanceof KafkaAuthenticationError, `${what}: ${e.name}: ${e.message}`);
              assert.match(e.message, message, what);
              return true;
            },
          );
        }
      },
    );

    await t.step("producer CLI, processor CLI and the web's Kafka monitor: readings stored, lag shown", async () => {
      const mongo = await useMongo();
      const topic = uniqueName("sec-readings");
      const group = uniqueName("sec-group");
      const count = 600;
      const common = {
        KAFKA_TOPIC: topic,
        KAFKA_DLQ_TOPIC: `${topic}.dlq`,
        KAFKA_ALERTS_TOPIC: `${topic}.alerts`,
        MONGO_URL: mongo.url,
        MONGO_DB: mongo.dbName,
        PROCESSOR_GROUP: group,
      };
      let web: Awaited<ReturnType<typeof startWeb>> | undefined;
      let processor: Deno.ChildProcess | undefined;
      try {
        // The producer: native client, SCRAM-SHA-256, with a client certificate.
        const produced = await program(PRODUCER, ["--count", String(count), "--rate", "0", "--stats-interval", "0"], {
          ...k.env(USERS.scram256),
          ...common,
          KAFKA_SSL_CERT_FILE: k.certs.clientCertFile,
          KAFKA_SSL_KEY_FILE: k.certs.clientKeyFile,
        }).output();
        const producerLog = decoder.decode(produced.stderr);
        assert.equal(produced.code, 0, producerLog);
        assert.match(producerLog, /"msg":"Producing".*"client":"native".*"security":"SASL_SSL"/);

        // The web app (PLAIN) sees the whole topic as lag before any processor ran.
        web = await startWeb({
          config: loadWebConfig({ ...k.env(USERS.plain), ...common }),
          mongoClient: mongo.client,
          dbName: mongo.dbName,
          host: "127.0.0.1",
          port: 0,
          group,
          logger,
          liveMode: "polling",
        });
        const pipeline = async () => (await (await fetch(`${web!.url}/api/pipeline`)).json()).kafka;
        // (A fresh broker may answer "coordinator is loading" at first: the monitor reports that as unreachable.)
        await waitFor(async () => {
          const s = await pipeline();
          return s.status === "ok" && s.totalLag === count && s;
        }, { what: `a lag of ${count} in the web's Kafka monitor`, timeoutMs: 30_000, intervalMs: 500 });

        // The processor (SCRAM-SHA-512) stores every reading and commits.
        processor = program(PROCESSOR, ["--metrics-port", "0"], { ...k.env(USERS.scram512), ...common }).spawn();
        const processorOutput = processor.output(); // drained while it runs
        const raw = mongo.client.db(mongo.dbName).collection(COLLECTIONS.readings);
        await waitFor(async () => (await raw.countDocuments()) === count, {
          what: `${count} readings stored`,
          timeoutMs: 90_000,
        });
        const after = await waitFor(async () => {
          const s = await pipeline();
          return s.status === "ok" && s.totalLag === 0 && s;
        }, { what: "the lag to reach 0 in the web's Kafka monitor", timeoutMs: 60_000, intervalMs: 500 });
        assert.equal(after.partitions.reduce((n: number, p: { high: number }) => n + p.high, 0), count);
        processor.kill("SIGTERM");
        const out = await processorOutput;
        assert.equal(out.code, 0, decoder.decode(out.stderr));
        processor = undefined;
      } finally {
        if (processor) {
          processor.kill("SIGKILL");
          await processor.status;
        }
        await web?.stop();
        await mongo.close();
      }
    });

    await t.step("a wrong password: producer CLI and processor CLI exit 1 with one error line", async () => {
      const mongo = await useMongo();
      try {
        const bad = {
          ...k.env({ ...USERS.scram256, password: "not-alice" }),
          MONGO_URL: mongo.url,
          MONGO_DB: mongo.dbName,
        };
        for (
          const [name, main, args] of [
            ["producer", PRODUCER, ["--count", "10", "--topic", uniqueName("sec-bad")]],
            ["processor", PROCESSOR, ["--metrics-port", "0", "--group", uniqueName("sec-bad")]],
          ] as const
        ) {
          const out = await program(main, [...args], bad).output();
          const stderr = decoder.decode(out.stderr);
          assert.equal(out.code, 1, `${name}: ${stderr}`);
          assert.ok(!/\n\s+at /.test(stderr), `${name}: no stack trace: ${stderr}`);
          const errors = errorLines(stderr);
          assert.equal(errors.length, 1, `${name}: one error line: ${stderr}`);
          assert.match(errors[0], /refused the connection: .*invalid credentials/, name);
        }
      } finally {
        await mongo.close();
      }
    });
  } finally {
    await k.close();
  }
});
