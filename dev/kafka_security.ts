/**
 * A SASL_SSL listener for the local broker (`LocalKafka`'s `security` option):
 * TLS with a PEM keystore, SCRAM-SHA-256/512 users created when the storage is
 * formatted, PLAIN users from the listener's JAAS configuration, and client
 * certificates required when a client CA is given. The PLAINTEXT and
 * CONTROLLER listeners stay as they are (loopback only) for the broker itself.
 */

/** A SCRAM user created at format time (`kafka-storage format --add-scram`). */
export interface ScramUser {
  mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512";
  name: string;
  password: string;
}

/** Options of the secured listener. */
export interface KafkaSecurityOptions {
  /** Port of the SASL_SSL listener (0 or absent: a free one). */
  port?: number;
  /** PEM file holding the broker's private key (unencrypted PKCS#8) and its certificate chain. */
  keystoreFile: string;
  /** PEM file of the CA that signs client certificates (mutual TLS); absent: none asked for. */
  clientCaFile?: string;
  /** With `clientCaFile`: whether clients must present a certificate, or may (default "required"). */
  clientAuth?: "required" | "requested";
  /** SCRAM users (their credentials are written into the cluster metadata at format time). */
  scramUsers?: ScramUser[];
  /** PLAIN users: name → password. */
  plainUsers?: Record<string, string>;
}

const LISTENER = "SASL_SSL";
const prefix = `listener.name.${LISTENER.toLowerCase()}`;

/** The SASL mechanisms the secured listener enables. */
export function enabledMechanisms(o: KafkaSecurityOptions): string[] {
  const scram = [...new Set((o.scramUsers ?? []).map((u) => u.mechanism))];
  return [...scram, ...(Object.keys(o.plainUsers ?? {}).length ? ["PLAIN"] : [])];
}

function jaasQuote(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * Adds the SASL_SSL listener on `127.0.0.1:port` to a broker's `server.properties` lines: appends it to
 * `listeners`, `advertised.listeners` and `listener.security.protocol.map`, and adds its TLS and SASL settings.
 */
export function securedProperties(lines: readonly string[], o: KafkaSecurityOptions, port: number): string[] {
  const mechanisms = enabledMechanisms(o);
  if (mechanisms.length === 0) throw new RangeError("A secured listener needs at least one SCRAM or PLAIN user");
  const out = lines.map((line) => {
    if (line.startsWith("listeners=") || line.startsWith("advertised.listeners=")) {
      return `${line},${LISTENER}://127.0.0.1:${port}`;
    }
    if (line.startsWith("listener.security.protocol.map=")) return `${line},${LISTENER}:${LISTENER}`;
    return line;
  });
  const extra = [
    `${prefix}.ssl.keystore.type=PEM`,
    `${prefix}.ssl.keystore.location=${o.keystoreFile}`,
    `${prefix}.sasl.enabled.mechanisms=${mechanisms.join(",")}`,
  ];
  if (o.clientCaFile) {
    extra.push(
      `${prefix}.ssl.truststore.type=PEM`,
      `${prefix}.ssl.truststore.location=${o.clientCaFile}`,
      `${prefix}.ssl.client.auth=${o.clientAuth ?? "required"}`,
    );
  }
  for (const m of mechanisms) {
    const module = m === "PLAIN"
      ? "org.apache.kafka.common.security.plain.PlainLoginModule required" +
        Object.entries(o.plainUsers!).map(([u, p]) => ` user_${u}=${jaasQuote(p)}`).join("")
      : "org.apache.kafka.common.security.scram.ScramLoginModule required";
    extra.push(`${prefix}.${m.toLowerCase()}.sasl.jaas.config=${module};`);
  }
  const end = out.at(-1) === "" ? out.length - 1 : out.length;
  return [...out.slice(0, end), ...extra, ...out.slice(end)];
}

/** The `kafka-storage format` arguments that create the SCRAM users. */
export function scramFormatArgs(o: KafkaSecurityOptions | undefined): string[] {
  return (o?.scramUsers ?? []).flatMap((u) => {
    if (/[,\]=\s"]/.test(u.name) || /[,\]\s"]/.test(u.password)) {
      throw new RangeError(`SCRAM user ${u.name}: name and password must not contain , ] = " or spaces`);
    }
    return ["--add-scram", `${u.mechanism}=[name=${u.name},password=${u.password}]`];
  });
}
