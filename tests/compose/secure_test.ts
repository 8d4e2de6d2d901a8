/**
 * The secured compose variant (`docker-compose.secure.yml`) as a contract: every
 * Kafka listener the programs reach is SASL_SSL, the programs' settings are the
 * documented ones and load, secrets come from `.env`, and the certificate script
 * really makes a CA and a broker certificate (run here with the local keytool).
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { ENV_VARS, loadKafkaSecurity, SASL_MECHANISMS } from "@iot/shared";

const root = new URL("../../", import.meta.url);
// deno-lint-ignore no-explicit-any
type Any = any;

async function yaml(name: string): Promise<Any> {
  return parse(await Deno.readTextFile(new URL(name, root)), { merge: true });
}

const PROGRAMS = ["producer", "processor", "web"];

Deno.test("the secure override puts every client listener on SASL_SSL and gives the programs its settings", async () => {
  const base = await yaml("docker-compose.yml");
  const secure = await yaml("docker-compose.secure.yml");
  const kafka = { ...base.services.kafka.environment, ...secure.services.kafka.environment };
  const protocols = new Map<string, string>(
    kafka.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP.split(",").map((p: string) => p.split(":")),
  );
  const listeners = kafka.KAFKA_LISTENERS.split(",").map((l: string) => l.split("://")[0]);
  for (const l of listeners) {
    if (l === kafka.KAFKA_CONTROLLER_LISTENER_NAMES) continue;
    assert.equal(protocols.get(l), "SASL_SSL", `listener ${l}`);
    assert.ok(!/SSL/.test(l), `listener name ${l} must not contain SSL (the image's own JKS handling)`);
    for (const m of kafka.KAFKA_SASL_ENABLED_MECHANISMS.split(",")) {
      const name = `KAFKA_LISTENER_NAME_${l}_${m.replace(/-/g, "___")}_SASL_JAAS_CONFIG`;
      assert.ok(kafka[name], `${name} is set`);
    }
  }
  assert.equal(kafka.KAFKA_SSL_KEYSTORE_LOCATION.split("/").slice(0, -1).join("/"), "/certs");
  const documented = new Set(ENV_VARS.map((v) => v.name));
  const caDir = await Deno.makeTempDir();
  try {
    for (const s of PROGRAMS) {
      const svc = secure.services[s];
      const env = { ...base.services[s].environment, ...svc.environment } as Record<string, string>;
      for (const name of Object.keys(svc.environment)) {
        assert.ok(documented.has(name), `${s} env ${name} is documented`);
      }
      assert.ok(svc.volumes.includes("kafka-certs:/certs:ro"), `${s} mounts the CA read-only`);
      assert.ok(!svc.volumes.some((v: string) => v.startsWith("kafka-admin:")), `${s} never sees the admin's password`);
      assert.ok((SASL_MECHANISMS as readonly string[]).includes(env.KAFKA_SASL_MECHANISM));
      assert.ok(kafka.KAFKA_SASL_ENABLED_MECHANISMS.split(",").includes(env.KAFKA_SASL_MECHANISM.toUpperCase()));
      assert.match(env.KAFKA_SASL_PASSWORD, /^\$\{KAFKA_APP_PASSWORD:\?/, "the password is required from .env");
      // The settings load (with the CA at a local path).
      await Deno.writeTextFile(`${caDir}/ca.pem`, "-----BEGIN CERTIFICATE-----\n");
      const security = loadKafkaSecurity({
        ...env,
        KAFKA_SSL_CA_FILE: env.KAFKA_SSL_CA_FILE.replace(/^\/certs/, caDir),
        KAFKA_SASL_USERNAME: "iot_app",
        KAFKA_SASL_PASSWORD: "x",
      });
      assert.ok(security.tls?.ca && security.sasl, s);
    }
  } finally {
    await Deno.remove(caDir, { recursive: true });
  }
  // kafka-init creates the topics as the admin, after kafka-users created the programs' SCRAM user.
  const init = base.services["kafka-init"];
  assert.match(init.command.join("\n"), /\$\$\{KAFKA_ADMIN_CONFIG:\+--command-config \$\$KAFKA_ADMIN_CONFIG\}/);
  assert.equal(secure.services["kafka-init"].environment.KAFKA_ADMIN_CONFIG, "/admin/admin.properties");
  assert.equal(secure.services["kafka-init"].depends_on["kafka-users"].condition, "service_completed_successfully");
  assert.match(secure.services["kafka-users"].command.join("\n"), /--add-config "SCRAM-SHA-512=\[password=/);
  assert.match(JSON.stringify(secure.services.kafka.healthcheck.test), /--command-config \/admin\/admin\.properties/);
});

Deno.test("every ${VAR} of the secure override is in .env.example, and its secrets are required", async () => {
  const text = await Deno.readTextFile(new URL("docker-compose.secure.yml", root));
  const example = await Deno.readTextFile(new URL(".env.example", root));
  const names = new Set(example.split("\n").filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split("=")[0]));
  const refs = [...text.matchAll(/\$\{([A-Z_]+)(:?[-?][^}]*)?\}/g)];
  assert.ok(refs.length >= 5);
  for (const [, name, rest] of refs) {
    assert.ok(names.has(name), `${name} is in .env.example`);
    if (/PASSWORD/.test(name)) assert.ok(rest?.startsWith(":?"), `${name} must be set in .env (${rest})`);
  }
});

Deno.test("the kafka-certs script makes a CA and a broker certificate for kafka, localhost and 127.0.0.1", async () => {
  const secure = await yaml("docker-compose.secure.yml");
  const script = (secure.services["kafka-certs"].command[0] as string).replaceAll("$$", "$");
  const dir = await Deno.makeTempDir({ prefix: "iot-compose-certs-" });
  try {
    const env = { STORE_PASSWORD: "store-pw", ADMIN_PASSWORD: "admin-pw", CERTS_DIR: dir, ADMIN_DIR: dir };
    const run = await new Deno.Command("bash", { args: ["-c", script], env, stdout: "piped", stderr: "piped" })
      .output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    const admin = await Deno.readTextFile(`${dir}/admin.properties`);
    assert.match(admin, /^security\.protocol=SASL_SSL$/m);
    assert.match(admin, /password="admin-pw";/);
    // The PKCS12 keystore opens with the store password; its key and chain serve TLS that the CA verifies.
    const pem = await new Deno.Command("openssl", {
      args: ["pkcs12", "-in", `${dir}/kafka.p12`, "-nodes", "-passin", "pass:store-pw"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(pem.code, 0, new TextDecoder().decode(pem.stderr));
    const text = new TextDecoder().decode(pem.stdout);
    const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(text)![0];
    const certs = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!;
    const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, key, cert: certs.join("\n") });
    try {
      const accepted = (async () => {
        const c = await listener.accept();
        await c.handshake().catch(() => {});
        c.close();
      })();
      const port = (listener.addr as Deno.NetAddr).port;
      const client = await Deno.connectTls({
        hostname: "127.0.0.1",
        port,
        caCerts: [await Deno.readTextFile(`${dir}/ca.pem`)],
      });
      await client.handshake();
      client.close();
      await accepted;
    } finally {
      listener.close();
    }
    // A second run keeps the certificates.
    const before = await Deno.readTextFile(`${dir}/ca.pem`);
    const again = await new Deno.Command("bash", { args: ["-c", script], env, stdout: "null", stderr: "null" })
      .output();
    assert.equal(again.code, 0);
    assert.equal(await Deno.readTextFile(`${dir}/ca.pem`), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
