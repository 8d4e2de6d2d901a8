import assert from "node:assert/strict";
import { ENV_VARS, EnvReader, loadCommonConfig, parseBrokers, redactUrl } from "./config.ts";
import { ConfigError } from "./errors.ts";

const root = new URL("../", import.meta.url);

Deno.test("loadCommonConfig uses documented defaults and reads overrides", () => {
  const d = loadCommonConfig({});
  assert.deepEqual(d.kafka.brokers, ["127.0.0.1:9092"]);
  assert.equal(d.mongo.db, "iot_analytics");
  assert.equal(d.partitions, 3);
  const c = loadCommonConfig({ KAFKA_BROKERS: "a:1, b:2", LOG_FORMAT: "json", MONGO_USERNAME: "u" });
  assert.deepEqual(c.kafka.brokers, ["a:1", "b:2"]);
  assert.equal(c.log.format, "json");
  assert.equal(c.mongo.username, "u");
});

Deno.test("bad configuration values fail with a message naming the variable", () => {
  assert.throws(() => loadCommonConfig({ KAFKA_PARTITIONS: "three" }), /KAFKA_PARTITIONS must be an integer/);
  assert.throws(() => loadCommonConfig({ LOG_LEVEL: "loud" }), /LOG_LEVEL must be one of/);
  assert.throws(() => loadCommonConfig({ MONGO_URL: "http://x" }), ConfigError);
  assert.throws(() => parseBrokers("localhost"), /must be host:port/);
  assert.throws(() => new EnvReader({}).string("NOPE"), /Unknown configuration variable NOPE/);
});

Deno.test("redactUrl hides passwords", () => {
  assert.equal(redactUrl("mongodb://app:s3cret@db:27017/x"), "mongodb://app:***@db:27017/x");
});

Deno.test("every variable is documented in README.md and .env.example with the same default", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", root));
  const example = await Deno.readTextFile(new URL(".env.example", root));
  for (const v of ENV_VARS) {
    assert.match(readme, new RegExp(`\\|\\s*\`${v.name}\`\\s*\\|`), `README lists ${v.name}`);
    const line = example.split("\n").find((l) => l.startsWith(`${v.name}=`));
    assert.ok(line, `.env.example lists ${v.name}`);
    assert.equal(line.slice(v.name.length + 1), v.default, `.env.example default of ${v.name}`);
  }
});
