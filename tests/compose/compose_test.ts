/**
 * This machine has no Docker engine, so the compose stack is checked as a
 * contract: services, health checks, replica set, ports, init script, and
 * environment names matching `shared/config.ts`; and the cluster variant
 * (`docker-compose.cluster.yml` layered over `docker-compose.yml`): three
 * KRaft nodes forming one quorum, replication 3 with `min.insync.replicas=2`,
 * and every program and tool given all three nodes.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { ENV_VARS, loadCommonConfig, standardTopics, TOPICS } from "@iot/shared";

const root = new URL("../../", import.meta.url);
// deno-lint-ignore no-explicit-any
type Any = any;

async function compose(file = "docker-compose.yml"): Promise<Any> {
  return parse(await Deno.readTextFile(new URL(file, root)), { merge: true });
}

/** Layers compose files as `docker compose -f a -f b` does for what these files use: mappings merge, the rest replaces. */
function layer(base: Any, over: Any): Any {
  if (!base || !over || typeof base !== "object" || typeof over !== "object" || Array.isArray(base)) return over;
  const out: Any = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? layer(base[k], v) : v;
  return out;
}

/** The cluster variant: docker-compose.yml with docker-compose.cluster.yml over it. */
async function clusterCompose(): Promise<Any> {
  return layer(await compose(), await compose("docker-compose.cluster.yml"));
}

/** The Kafka nodes of a compose model (services running the broker image with a node id). */
function kafkaNodes(c: Any): [string, Any][] {
  return Object.entries(c.services as Record<string, Any>).filter(([, s]) =>
    /^apache\/kafka:/.test(s.image ?? "") && s.environment?.KAFKA_NODE_ID !== undefined
  );
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
  assert.ok(mongo.ports.includes("${BIND_ADDRESS:-127.0.0.1}:27017:27017"));
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
  assert.ok(c.services.web.ports.includes("${BIND_ADDRESS:-127.0.0.1}:8000:8000"));
  assert.ok(c.services.kafka.ports.includes("${BIND_ADDRESS:-127.0.0.1}:9092:9092"));
});

Deno.test("every ${VAR} in compose is listed in .env.example, and no secret has a real default", async () => {
  const text = await Deno.readTextFile(new URL("docker-compose.yml", root)) +
    await Deno.readTextFile(new URL("docker-compose.cluster.yml", root));
  const names = await envExampleNames();
  const refs = [...text.matchAll(/\$\{([A-Z_]+)(:?[-?][^}]*)?\}/g)];
  assert.ok(refs.length > 10);
  for (const [, name, rest] of refs) {
    assert.ok(names.has(name), `${name} is in .env.example`);
    if (/PASSWORD|TOKEN/.test(name) && rest?.startsWith(":-")) {
      assert.equal(rest, ":-", `${name} has no baked-in secret, not even an example one (${rest})`);
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

Deno.test("the tools profile runs Prometheus and Grafana on loopback with the monitoring files mounted", async () => {
  const c = await compose();
  for (const s of ["prometheus", "grafana"]) {
    assert.deepEqual(c.services[s].profiles, ["tools"], `${s} is a tool`);
    assert.ok(c.services[s].healthcheck?.test, `${s} has a healthcheck`);
    for (const p of c.services[s].ports) assert.match(p, /^127\.0\.0\.1:/, `${s} publishes ${p} on loopback only`);
  }
  const prom = c.services.prometheus;
  assert.ok(prom.volumes.includes("./monitoring/prometheus:/etc/prometheus:ro"));
  assert.ok(prom.command.includes("--config.file=/etc/prometheus/prometheus.yml"));
  const grafana = c.services.grafana;
  assert.ok(grafana.volumes.includes("./monitoring/grafana/provisioning:/etc/grafana/provisioning:ro"));
  assert.ok(grafana.volumes.includes("./monitoring/grafana/dashboards:/var/lib/grafana/dashboards:ro"));
  assert.equal(grafana.depends_on.prometheus.condition, "service_healthy");
  assert.match(grafana.environment.GF_SECURITY_ADMIN_PASSWORD, /^\$\{GRAFANA_ADMIN_PASSWORD:/);
  const datasource = parse(
    await Deno.readTextFile(new URL("monitoring/grafana/provisioning/datasources/prometheus.yml", root)),
  ).datasources[0];
  const promPort = prom.ports[0].split(":").pop();
  assert.equal(datasource.url, `http://prometheus:${promPort}`, "Grafana reaches the compose Prometheus");
  for (const mount of [...prom.volumes, ...grafana.volumes].filter((v: string) => v.startsWith("./"))) {
    await Deno.stat(new URL(mount.split(":")[0], root)); // every mounted file exists
  }
});

Deno.test("Prometheus scrapes each program on the port it serves /metrics on, and Kafka's JMX exporter", async () => {
  const c = await compose();
  const config = parse(await Deno.readTextFile(new URL("monitoring/prometheus/prometheus.yml", root)));
  const jobs = new Map<string, Any>(config.scrape_configs.map((j: Any) => [j.job_name, j]));
  assert.deepEqual([...jobs.keys()].sort(), ["kafka", "processor", "producer", "web"]);
  const ports: Record<string, string> = {
    processor: String(c.services.processor.environment.PROCESSOR_METRICS_PORT),
    producer: String(c.services.producer.environment.PRODUCER_METRICS_PORT),
    web: String(c.services.web.environment.WEB_PORT),
  };
  for (const [service, port] of Object.entries(ports)) {
    const sd = jobs.get(service).dns_sd_configs[0];
    assert.deepEqual(sd.names, [service], `${service}: every replica, by the service's DNS name`);
    assert.equal(String(sd.port), port, `${service} is scraped on its metrics port`);
    assert.match(JSON.stringify(c.services[service].healthcheck.test), new RegExp(`:${port}/healthz`));
  }
  // Kafka runs the JMX exporter java agent, fetched into a volume before the broker starts.
  const kafka = c.services.kafka;
  const agent = /-javaagent:(\S+?\.jar)=(\d+):(\S+)/.exec(kafka.environment.KAFKA_OPTS);
  assert.ok(agent, "KAFKA_OPTS loads the JMX exporter agent");
  const [, jar, agentPort, rules] = agent;
  assert.deepEqual(jobs.get("kafka").static_configs[0].targets, [`kafka:${agentPort}`]);
  assert.ok(kafka.volumes.includes(`./monitoring/jmx/kafka.yml:${rules}:ro`), "the exporter's rules are mounted");
  const agentVolume = kafka.volumes.find((v: string) => jar.startsWith(v.split(":")[1] + "/"));
  assert.ok(agentVolume, `a volume holds ${jar}`);
  assert.equal(kafka.depends_on["kafka-jmx-agent"].condition, "service_completed_successfully");
  const fetcher = c.services["kafka-jmx-agent"];
  const fetcherMount = fetcher.volumes.find((v: string) => v.startsWith(agentVolume.split(":")[0] + ":"));
  assert.ok(fetcherMount, "the fetcher writes the same volume");
  const script = fetcher.command.join("\n");
  assert.match(script, /mvn .*-f \/pom\/pom\.xml dependency:copy-dependencies -Dmdep\.stripVersion=true/);
  const jarName = jar.split("/").pop();
  assert.ok(script.includes(`${fetcherMount.split(":")[1]}/${jarName}`), "it writes the jar KAFKA_OPTS loads");
  // The broker's health check must not start a second agent on the same port.
  assert.match(JSON.stringify(kafka.healthcheck.test), /KAFKA_OPTS= /);
});

Deno.test("the cluster variant runs three KRaft nodes, each broker and controller, in one static quorum", async () => {
  const c = await clusterCompose();
  const base = await compose();
  assert.notEqual(c.name, base.name, "a project of its own, so volumes never meet the single broker's");
  const nodes = kafkaNodes(c);
  assert.deepEqual(nodes.map(([name]) => name).sort(), ["kafka", "kafka-2", "kafka-3"]);
  const ids = nodes.map(([, s]) => Number(s.environment.KAFKA_NODE_ID));
  assert.deepEqual([...ids].sort(), [1, 2, 3]);
  const voters = new Set(nodes.map(([name, s]) => `${s.environment.KAFKA_NODE_ID}@${s.hostname ?? name}:9093`));
  const hostPorts = new Set<string>();
  const volumes = new Set<string>();
  for (const [name, s] of nodes) {
    const env = s.environment;
    assert.equal(s.image, base.services.kafka.image, `${name} runs the same image`);
    assert.equal(env.KAFKA_PROCESS_ROLES, "broker,controller", name);
    assert.deepEqual(new Set(env.KAFKA_CONTROLLER_QUORUM_VOTERS.split(",")), voters, `${name} names every voter`);
    assert.match(env.KAFKA_LISTENERS, /CONTROLLER:\/\/:9093/, name);
    assert.equal(env.CLUSTER_ID, nodes[0][1].environment.CLUSTER_ID, `${name} shares the cluster id`);
    assert.ok(env.CLUSTER_ID, "a cluster id is set");
    assert.ok(s.healthcheck?.test, `${name} has a healthcheck`);
    // Reachable by the programs under its own name, and from the host on a port of its own.
    const advertised = env.KAFKA_ADVERTISED_LISTENERS as string;
    assert.match(advertised, new RegExp(`INTERNAL://${s.hostname ?? name}:19092`), name);
    const hostPort = /HOST:\/\/localhost:(\d+)/.exec(advertised)?.[1];
    assert.ok(hostPort, `${name} advertises a host port`);
    assert.ok(
      s.ports.includes(`\${BIND_ADDRESS:-127.0.0.1}:${hostPort}:9092`),
      `${name} publishes ${hostPort} to its HOST listener, on loopback unless BIND_ADDRESS opts in`,
    );
    hostPorts.add(hostPort);
    volumes.add(String(s.volumes[0]).split(":")[0]);
    // Every setting of the single broker is set on each node (none forgotten, e.g. retention).
    for (const key of Object.keys(base.services.kafka.environment)) {
      assert.ok(key in env, `${name} sets ${key}`);
    }
    assert.equal(env.KAFKA_LOG_RETENTION_BYTES, base.services.kafka.environment.KAFKA_LOG_RETENTION_BYTES);
  }
  assert.deepEqual([...hostPorts].sort(), ["9092", "9093", "9094"]);
  assert.equal(volumes.size, 3, "each node has its own data volume");
  for (const v of volumes) assert.ok(v in c.volumes, `volume ${v} is declared`);
});

Deno.test("the cluster variant replicates every topic three times with min.insync.replicas 2", async () => {
  const c = await clusterCompose();
  for (const [name, s] of kafkaNodes(c)) {
    const env = s.environment;
    assert.equal(String(env.KAFKA_DEFAULT_REPLICATION_FACTOR), "3", name);
    assert.equal(String(env.KAFKA_MIN_INSYNC_REPLICAS), "2", name);
    assert.equal(String(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR), "3", name);
    assert.equal(String(env.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR), "3", name);
    assert.equal(String(env.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR), "2", name);
    assert.equal(String(env.KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR), "3", name);
    assert.equal(String(env.KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR), "2", name);
  }
  const init = c.services["kafka-init"];
  assert.equal(String(init.environment.KAFKA_REPLICATION_FACTOR), "3");
  assert.equal(String((await compose()).services["kafka-init"].environment.KAFKA_REPLICATION_FACTOR), "1");
  const creates = (init.command.join("\n") as string).split("\n").filter((l) => l.includes("--create"));
  assert.equal(creates.length, standardTopics(loadCommonConfig({})).length);
  for (const line of creates) assert.match(line, /--replication-factor "\$\$KAFKA_REPLICATION_FACTOR"/, line);
  for (const [name] of kafkaNodes(c)) {
    assert.equal(init.depends_on[name]?.condition, "service_healthy", `topics wait for ${name}`);
  }
});

Deno.test("in the cluster variant the programs and kafka-ui know every node", async () => {
  const c = await clusterCompose();
  const internal = kafkaNodes(c).map(([name, s]) => `${s.hostname ?? name}:19092`).sort();
  for (const s of ["producer", "processor", "web"]) {
    assert.deepEqual(c.services[s].environment.KAFKA_BROKERS.split(",").sort(), internal, s);
    // The rest of each program's settings still comes from docker-compose.yml.
    assert.match(c.services[s].environment.MONGO_URL, /replicaSet=rs0/, s);
  }
  assert.deepEqual(c.services["kafka-ui"].environment.KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS.split(",").sort(), internal);
  const readme = await Deno.readTextFile(new URL("README.md", root));
  assert.ok(
    readme.includes("docker compose -f docker-compose.yml -f docker-compose.cluster.yml up"),
    "the README shows how to start the cluster variant",
  );
});

/** The `${NAME...}` references of a compose value. */
const refsOf = (value: string) => [...value.matchAll(/\$\{([A-Z_]+)(:?[-?][^}]*)?\}/g)];

Deno.test("every published port binds to 127.0.0.1 unless BIND_ADDRESS opts in", async () => {
  const c = await compose();
  const published: string[] = [];
  for (const [name, svc] of Object.entries<Any>(c.services)) {
    for (const p of svc.ports ?? []) {
      const port = String(p);
      published.push(port);
      assert.match(
        port,
        /^(\$\{BIND_ADDRESS:-127\.0\.0\.1\}|127\.0\.0\.1):\d+:\d+$/,
        `${name} publishes ${port} on loopback by default`,
      );
    }
  }
  for (const p of ["9092:9092", "27017:27017", "8000:8000"]) {
    assert.ok(published.includes(`\${BIND_ADDRESS:-127.0.0.1}:${p}`), `${p} follows BIND_ADDRESS`);
  }
  const example = await Deno.readTextFile(new URL(".env.example", root));
  assert.match(example, /^BIND_ADDRESS=127\.0\.0\.1$/m, ".env.example keeps the loopback default");
});

Deno.test("no service starts before the passwords were checked, and every password of compose is checked", async () => {
  const c = await compose();
  const checks = Object.entries<Any>(c.services).filter(([, s]) =>
    JSON.stringify(s.entrypoint ?? "").includes(
      "shared/secrets_main.ts",
    )
  );
  assert.deepEqual(checks.map(([n]) => n).sort(), ["secrets", "secrets-tools"]);
  const checked = new Map<string, string>();
  for (const [name, svc] of checks) {
    assert.equal(svc.build.dockerfile, "Dockerfile", `${name} runs in the app image`);
    for (const v of svc.command) {
      assert.ok(svc.environment[v], `${name} is given ${v}`);
      assert.deepEqual(refsOf(svc.environment[v]).map((r) => r[1]), [v], `${name} checks ${v} itself`);
      checked.set(v, name);
    }
  }
  assert.deepEqual(c.services["secrets-tools"].profiles, ["tools"]);
  // Every password compose hands to a container is one of the checked variables, and that container waits for
  // its check (directly, or through MongoDB for the programs).
  const text = await Deno.readTextFile(new URL("docker-compose.yml", root));
  const passwords = new Set(refsOf(text).map((r) => r[1]).filter((n) => /PASSWORD/.test(n)));
  assert.deepEqual([...passwords].sort(), [...checked.keys()].sort(), "every password of compose is checked");
  const waitsFor = (svc: Any, check: string): boolean =>
    svc.depends_on?.[check]?.condition === "service_completed_successfully" ||
    Object.keys(svc.depends_on ?? {}).some((d) => d !== check && waitsFor(c.services[d], check));
  for (const [name, svc] of Object.entries<Any>(c.services)) {
    if (checks.some(([n]) => n === name)) continue;
    for (const [password, check] of checked) {
      if (refsOf(JSON.stringify(svc.environment ?? {})).some((r) => r[1] === password)) {
        assert.ok(waitsFor(svc, check), `${name} (given ${password}) waits for ${check}`);
      }
    }
  }
  for (const s of ["kafka", "mongo", "processor", "web", "producer", "grafana", "mongo-express"]) {
    assert.ok(waitsFor(c.services[s], s === "grafana" || s === "mongo-express" ? "secrets-tools" : "secrets"), s);
  }
  // Compose itself refuses a missing MongoDB password before anything runs.
  for (const v of ["MONGO_ROOT_PASSWORD", "MONGO_APP_PASSWORD"]) {
    assert.match(c.services.secrets.environment[v], new RegExp(`^\\$\\{${v}:\\?set ${v} in \\.env\\}$`));
  }
});

Deno.test("with the passwords of .env.example each check exits 1 with one line naming each variable", async () => {
  const c = await compose();
  const example = new Map(
    (await Deno.readTextFile(new URL(".env.example", root))).split("\n").filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  for (const name of ["secrets", "secrets-tools"]) {
    const svc = c.services[name];
    // What compose would pass: ${VAR...} resolved from a .env copied from .env.example.
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries<string>(svc.environment)) env[k] = example.get(refsOf(v)[0][1]) ?? "";
    const [cmd, ...args] = [...svc.entrypoint, ...svc.command];
    assert.equal(cmd, "deno");
    const out = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: root.pathname,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const lines = new TextDecoder().decode(out.stderr).trim().split("\n");
    assert.equal(out.code, 1, `${name} refuses the example passwords`);
    assert.deepEqual(
      lines.map((l) => /^error: ([A-Z_]+) is still the example value from \.env\.example/.exec(l)?.[1]),
      svc.command,
      lines.join("\n"),
    );
    // And passes once they are set.
    const set = Object.fromEntries(Object.keys(env).map((k) => [k, `real-${k.toLowerCase()}-7f3a`]));
    const ok = await new Deno.Command(Deno.execPath(), { args, cwd: root.pathname, env: set, clearEnv: true })
      .output();
    assert.equal(ok.code, 0, `${name} passes real passwords`);
  }
});
