import assert from "node:assert/strict";
import { ConfigError, UsageError } from "@iot/shared";
import { parseProducerArgs } from "./options.ts";

Deno.test("defaults come from the environment and flags override them", () => {
  const env = { PRODUCER_RATE: "250", PRODUCER_SENSORS: "40", KAFKA_BROKERS: "k1:9092,k2:9093", KAFKA_TOPIC: "t1" };
  const d = parseProducerArgs([], env).options;
  assert.equal(d.rate, 250);
  assert.equal(d.sensors, 40);
  assert.deepEqual(d.brokers, ["k1:9092", "k2:9093"]);
  assert.equal(d.topic, "t1");
  assert.equal(d.partitions, 3);
  assert.equal(d.acks, "all");
  assert.equal(d.idempotent, true);
  assert.equal(d.compression, "none");
  assert.equal(d.client, "native");
  assert.equal(d.durationS, undefined);
  assert.equal(d.metricsPort, undefined);
  const cli = parseProducerArgs(
    ["--rate", "0", "--sensors=5", "--brokers", "h:1", "--duration", "60", "--seed", "7", "--acks", "1", "--json"],
    env,
  );
  assert.equal(cli.options.rate, 0);
  assert.equal(cli.options.sensors, 5);
  assert.deepEqual(cli.options.brokers, ["h:1"]);
  assert.equal(cli.options.durationS, 60);
  assert.equal(cli.options.seed, 7);
  assert.equal(cli.options.acks, "1");
  assert.equal(cli.options.idempotent, false, "idempotence follows acks=all by default");
  assert.equal(cli.json, true);
});

Deno.test("scenario and tuning flags reach the options", () => {
  const o = parseProducerArgs([
    "--stuck=0.1",
    "--drift=0.05",
    "--dropout",
    "0.2",
    "--dropout-seconds",
    "5",
    "--out-of-order=0.01",
    "--late=0.02",
    "--duplicates=0.03",
    "--malformed=0.04",
    "--anomaly-rate=0",
    "--compression=gzip",
    "--batch-size=500",
    "--max-in-flight=2",
    "--metrics-port=9200",
    "--connect-timeout=2",
    "--quiet",
    "--client=kafkajs",
  ], {}).options;
  assert.deepEqual(o.scenarios, {
    stuck: 0.1,
    drift: 0.05,
    dropout: 0.2,
    dropoutSeconds: 5,
    outOfOrder: 0.01,
    late: 0.02,
    duplicates: 0.03,
    malformed: 0.04,
  });
  assert.equal(o.anomalyRate, 0);
  assert.equal(o.compression, "gzip");
  assert.equal(o.batchSize, 500);
  assert.equal(o.maxInFlight, 2);
  assert.equal(o.metricsPort, 9200);
  assert.equal(o.connectTimeoutMs, 2000);
  assert.equal(o.statsIntervalS, 0, "--quiet prints only the final stats");
  assert.equal(o.client, "kafkajs");
});

Deno.test("bad flags and bad environment values fail with one-line reasons", () => {
  const bad: [string[], RegExp][] = [
    [["--rate", "-5"], /--rate must be at least 0/],
    [["--rate", "fast"], /--rate must be a number/],
    [["--sensors", "0"], /--sensors must be at least 1/],
    [["--sensors", "2.5"], /whole number/],
    [["--anomaly-rate", "2"], /at most 1/],
    [["--acks", "2"], /--acks must be one of all, 1, 0/],
    [["--acks", "1", "--idempotent"], /--idempotent needs --acks all/],
    [["--brokers", "nohost"], /--brokers entry "nohost" must be host:port/],
    [["--topic="], /--topic must not be empty/],
    [["--bogus"], /Unknown flag --bogus/],
    [["--duration"], /--duration needs a value/],
    [["1000"], /Unexpected argument/],
  ];
  for (const [args, re] of bad) {
    assert.throws(() => parseProducerArgs(args, {}), (e: Error) => {
      assert.ok(e instanceof UsageError || e instanceof ConfigError, `${args}: ${e}`);
      assert.match(e.message, re);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
  assert.throws(() => parseProducerArgs([], { PRODUCER_SENSORS: "many" }), ConfigError);
  assert.ok(parseProducerArgs(["--help"], {}).help);
  assert.match(parseProducerArgs([], {}).text, /--rate/);
});
