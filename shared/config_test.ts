import assert from "node:assert/strict";
import {
  ENV_VARS,
  EnvReader,
  loadCommonConfig,
  loadKafkaSecurity,
  parseBrokers,
  redactUrl,
  securityProtocol,
} from "./config.ts";
import { ConfigError } from "./errors.ts";
import { secretProblem, secretProblems } from "./secrets.ts";

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

Deno.test("loadKafkaSecurity reads TLS files and SASL settings, and refuses inconsistent ones in one line", async () => {
  assert.deepEqual(loadKafkaSecurity({}), {});
  const dir = await Deno.makeTempDir();
  try {
    const ca = `${dir}/ca.pem`;
    await Deno.writeTextFile(ca, "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n");
    await Deno.writeTextFile(`${dir}/not.pem`, "hello");
    const s = loadKafkaSecurity({
      KAFKA_SSL: "true",
      KAFKA_SSL_CA_FILE: ca,
      KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
      KAFKA_SASL_USERNAME: "alice",
      KAFKA_SASL_PASSWORD: " pw with spaces ",
    });
    assert.match(s.tls!.ca!, /BEGIN CERTIFICATE/);
    assert.deepEqual(s.sasl, { mechanism: "scram-sha-512", username: "alice", password: " pw with spaces " });
    assert.equal(securityProtocol(s), "SASL_SSL");
    assert.equal(securityProtocol({ tls: {} }), "SSL");
    assert.equal(securityProtocol({}), "PLAINTEXT");
    const cfg = loadCommonConfig({ KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD: "p" });
    assert.equal(securityProtocol(cfg.kafka), "SASL_PLAINTEXT");
    const bad: [Record<string, string>, RegExp][] = [
      [{ KAFKA_SSL: "yes" }, /^KAFKA_SSL must be one of true, false, got "yes"$/],
      [{ KAFKA_SSL_CA_FILE: ca }, /^KAFKA_SSL_CA_FILE is set but KAFKA_SSL is not true$/],
      [{ KAFKA_SSL: "true", KAFKA_SSL_CA_FILE: `${dir}/missing.pem` }, /^KAFKA_SSL_CA_FILE cannot be read: /],
      [{ KAFKA_SSL: "true", KAFKA_SSL_CA_FILE: `${dir}/not.pem` }, /^KAFKA_SSL_CA_FILE \(.*\) holds no PEM block$/],
      [{ KAFKA_SSL: "true", KAFKA_SSL_CERT_FILE: ca }, /^KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE must be given/],
      [{ KAFKA_SASL_MECHANISM: "gssapi" }, /^KAFKA_SASL_MECHANISM must be one of plain, scram-sha-256, scram-sha-512/],
      [{ KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_PASSWORD: "p" }, /KAFKA_SASL_USERNAME is empty$/],
      [{ KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_USERNAME: "u" }, /KAFKA_SASL_PASSWORD is empty$/],
      [{ KAFKA_SASL_USERNAME: "u" }, /are set but KAFKA_SASL_MECHANISM is not$/],
    ];
    for (const [env, message] of bad) {
      assert.throws(() => loadKafkaSecurity(env), (e: Error) => {
        assert.ok(e instanceof ConfigError, e.message);
        assert.match(e.message, message);
        assert.ok(!e.message.includes("\n"), "one line");
        return true;
      });
    }
    assert.throws(() => loadCommonConfig({ KAFKA_SASL_MECHANISM: "x" }), ConfigError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MongoDB TLS files are checked at load and passed as paths", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/ca.pem`, "x");
    const c = loadCommonConfig({ MONGO_TLS_CA_FILE: `${dir}/ca.pem` });
    assert.equal(c.mongo.tlsCAFile, `${dir}/ca.pem`);
    assert.equal(loadCommonConfig({ MONGO_TLS: "true" }).mongo.tls, true);
    assert.equal(loadCommonConfig({}).mongo.tls, undefined);
    assert.throws(
      () => loadCommonConfig({ MONGO_TLS_CERT_KEY_FILE: `${dir}/nope` }),
      /^ConfigError: MONGO_TLS_CERT_KEY_FILE/,
    );
    assert.throws(() => loadCommonConfig({ MONGO_TLS: "1" }), /MONGO_TLS must be one of true, false/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the example passwords of .env.example are refused with a line naming the variable", async () => {
  const example = await Deno.readTextFile(new URL(".env.example", root));
  const placeholders = example.split("\n").filter((l) => /^[A-Z_]*PASSWORD=/.test(l)).map((l) => l.split("=")[1])
    .filter((v) => v !== "");
  assert.ok(placeholders.length >= 3, "the example ships placeholder passwords");
  for (const p of placeholders) {
    assert.throws(
      () => loadCommonConfig({ MONGO_USERNAME: "app", MONGO_PASSWORD: p }),
      (e: Error) => e instanceof ConfigError && /^MONGO_PASSWORD is still the example value/.test(e.message),
    );
    assert.match(secretProblem("GRAFANA_ADMIN_PASSWORD", p) ?? "", /^GRAFANA_ADMIN_PASSWORD is still the example/);
  }
  assert.throws(
    () => loadCommonConfig({ MONGO_URL: "mongodb://app:change-me-app@db:27017/x" }),
    /^ConfigError: MONGO_URL holds the example password/,
  );
  assert.equal(loadCommonConfig({ MONGO_USERNAME: "app", MONGO_PASSWORD: "s3cret-Xy" }).mongo.password, "s3cret-Xy");
  assert.equal(loadCommonConfig({ MONGO_URL: "mongodb://app:s3cret@db:27017/x" }).mongo.url.includes("s3cret"), true);
  assert.equal(loadCommonConfig({}).mongo.password, undefined, "no password at all stays allowed (local services)");
  assert.deepEqual(secretProblems({ A: "", C: "good-one" }, ["A", "B", "C"]), [
    "A is empty: set a password in .env",
    "B is empty: set a password in .env",
  ]);
});

Deno.test("secrets_main exits 1 with one line per unusable password, 0 when all are set", async () => {
  const run = (env: Record<string, string>) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-env", new URL("secrets_main.ts", import.meta.url).pathname, "ROOT_PW", "APP_PW"],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
  const bad = await run({ ROOT_PW: "change-me-root" });
  assert.equal(bad.code, 1);
  const lines = new TextDecoder().decode(bad.stderr).trim().split("\n");
  assert.equal(lines.length, 2, lines.join("\n"));
  assert.match(lines[0], /^error: ROOT_PW is still the example value from \.env\.example/);
  assert.match(lines[1], /^error: APP_PW is empty/);
  const good = await run({ ROOT_PW: "x7-root", APP_PW: "x7-app" });
  assert.equal(good.code, 0, new TextDecoder().decode(good.stderr));
});
