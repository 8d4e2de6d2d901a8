/**
 * This machine has no Docker engine, so the compose stack is checked as a
 * contract: services, health checks, replica set, ports, init script, and
 * environment names matching `shared/config.ts`.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { ENV_VARS, loadCommonConfig, standardTopics, TOPICS } from "@iot/shared";

const root = new URL("../../", import.meta.url);
// deno-lint-ignore no-explicit-any
type Any = any;

async function compose(): Promise<Any> {
  return parse(await Deno.readTextFile(new URL("docker-compose.yml", root)), { merge: true });
}

async function envExampleNames(): Promise<Set<string>> {
  const text = await Deno.readTextFile(new URL(".env.example", root));
  return new Set(text.split("\n").filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split("=")[0]));
}

Deno.test("compose defines the infrastructure, the three programs and the tools profile", async () => {
  const c = await compose();
  const names = Object.keys(c.services);
  for (const s of ["kafka", "kafka-init", "mongo", "producer", "processor", "web", "kafka-ui", "mongo-express"]) {
    assert.ok(names.includes(s), `service ${s}`);
  }
  assert.match(c.services.kafka.image, /^apache\/kafka:4\.1\.\d+$/);
  assert.match(c.services.mongo.image, /^mongo:(7|8)\./);
  assert.deepEqual(c.services["kafka-ui"].profiles, ["tools"]);
  assert.deepEqual(c.services["mongo-express"].profiles, ["tools"]);
  for (const s of ["kafka", "mongo", "producer", "processor", "web"]) {
    assert.ok(c.services[s].healthcheck?.test, `${s} has a healthcheck`);
  }
});

Deno.test("MongoDB runs as an authenticated replica set with init-mongo.js mounted", async () => {
  const c = await compose();
  const mongo = c.services.mongo;
  const start = JSON.stringify(mongo.entrypoint ?? mongo.command);
  assert.match(start, /--replSet rs0/);
  assert.match(start, /--keyFile/);
  assert.ok(mongo.volumes.includes("./init-mongo.js:/docker-entrypoint-initdb.d/init-mongo.js:ro"));
  assert.match(JSON.stringify(mongo.healthcheck.test), /rs\.initiate/);
  assert.match(mongo.environment.MONGO_INITDB_ROOT_PASSWORD, /:\?/, "root password required from env");
  assert.ok(mongo.ports.includes("27017:27017"));
});

Deno.test("programs use only documented variables and wait for healthy infrastructure", async () => {
  const c = await compose();
  const documented = new Set(ENV_VARS.map((v) => v.name));
  for (const s of ["producer", "processor", "web"]) {
    const svc = c.services[s];
    for (const name of Object.keys(svc.environment)) assert.ok(documented.has(name), `${s} env ${name} is documented`);
    assert.equal(svc.depends_on["kafka-init"].condition, "service_completed_successfully");
    assert.equal(svc.depends_on.mongo.condition, "service_healthy");
    assert.match(svc.environment.MONGO_URL, /replicaSet=rs0/);
    assert.ok(!/:\/\/[^/]*@/.test(svc.environment.MONGO_URL), "no credentials in MONGO_URL");
    assert.equal(svc.build.dockerfile, "Dockerfile");
  }
  assert.ok(c.services.web.ports.includes("8000:8000"));
  assert.ok(c.services.kafka.ports.includes("9092:9092"));
});

Deno.test("every ${VAR} in compose is listed in .env.example, and no secret has a real default", async () => {
  const text = await Deno.readTextFile(new URL("docker-compose.yml", root));
  const names = await envExampleNames();
  const refs = [...text.matchAll(/\$\{([A-Z_]+)(:?[-?][^}]*)?\}/g)];
  assert.ok(refs.length > 10);
  for (const [, name, rest] of refs) {
    assert.ok(names.has(name), `${name} is in .env.example`);
    if (/PASSWORD|TOKEN/.test(name) && rest?.startsWith(":-")) {
      assert.ok(rest === ":-" || rest === ":-change-me", `${name} has no baked-in secret (${rest})`);
    }
  }
});

Deno.test("kafka-init creates the pipeline's topics", async () => {
  const c = await compose();
  const init = c.services["kafka-init"];
  const script = init.command.join("\n");
  for (
    const [envName, topic] of [["KAFKA_TOPIC", TOPICS.readings], ["KAFKA_DLQ_TOPIC", TOPICS.deadLetters], [
      "KAFKA_ALERTS_TOPIC",
      TOPICS.alerts,
    ]]
  ) {
    assert.match(script, new RegExp(`--topic "\\$\\$${envName}"`));
    assert.ok(init.environment[envName].includes(topic));
  }
  assert.match(script, /--if-not-exists/);
});

Deno.test("kafka-init creates every standard topic with the partitions the programs would use", async () => {
  const c = await compose();
  const init = c.services["kafka-init"];
  const creates = (init.command.join("\n") as string).split("\n").filter((l) => l.includes("--create"));
  const env = init.environment as Record<string, string>;
  // Resolve "$$NAME" with the defaults of ${NAME:-default}.
  const value = (word: string) => {
    const m = /^"?\$\$([A-Z_]+)"?$/.exec(word);
    const raw = m ? env[m[1]] : word.replace(/"/g, "");
    return raw.replace(/^\$\{[A-Z_]+:-(.*)\}$/, "$1");
  };
  const created = new Map<string, number>();
  const partitionWords = new Map<string, string>();
  for (const line of creates) {
    const words = line.trim().split(/\s+/);
    const at = (flag: string) => words[words.indexOf(flag) + 1];
    created.set(value(at("--topic")), Number(value(at("--partitions"))));
    partitionWords.set(value(at("--topic")), at("--partitions"));
  }
  const config = loadCommonConfig({});
  const expected = new Map(standardTopics(config).map((t) => [t.topic, t.numPartitions]));
  assert.deepEqual(created, expected);
  // Topics partitioned like sensor-data follow KAFKA_PARTITIONS, as the programs do.
  for (const [topic, n] of expected) {
    if (n === config.partitions) assert.equal(partitionWords.get(topic), '"$$KAFKA_PARTITIONS"', topic);
  }
});

Deno.test("the compose broker has size-based retention", async () => {
  const c = await compose();
  const env = c.services.kafka.environment;
  assert.match(env.KAFKA_LOG_RETENTION_BYTES, /^\$\{KAFKA_LOG_RETENTION_BYTES:-\d+\}$/);
  assert.match(env.KAFKA_LOG_SEGMENT_BYTES, /^\$\{KAFKA_LOG_SEGMENT_BYTES:-\d+\}$/);
});

Deno.test("the Dockerfile runs as a non-root user on the Deno version CI uses", async () => {
  const dockerfile = await Deno.readTextFile(new URL("Dockerfile", root));
  const ci = await Deno.readTextFile(new URL(".ci/run", root));
  const ciVersion = /DENO_VERSION=([\d.]+)/.exec(ci)?.[1];
  assert.match(dockerfile, new RegExp(`^FROM denoland/deno:${ciVersion?.replace(/\./g, "\\.")}$`, "m"));
  assert.match(dockerfile, /^USER deno$/m);
  assert.match(dockerfile, /deno install --frozen/);
});
