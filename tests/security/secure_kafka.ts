/**
 * A local broker with a SASL_SSL listener for the security tests: certificates
 * from `certs.ts`, SCRAM-SHA-256 and SCRAM-SHA-512 users created at format
 * time, a PLAIN user, and client certificates requested (verified when given).
 */
import { LocalKafka } from "../../dev/kafka.ts";
import { makeCertificates, type TestCertificates } from "./certs.ts";

/** The test users: mechanism, name, password. */
export const USERS = {
  scram256: { mechanism: "scram-sha-256", username: "alice", password: "alice-pw-256" },
  scram512: { mechanism: "scram-sha-512", username: "bob", password: "bob-pw-512" },
  plain: { mechanism: "plain", username: "carol", password: "carol-pw-plain" },
} as const;

/** A running secured broker. */
export interface SecureKafka {
  local: LocalKafka;
  /** Bootstrap servers of the SASL_SSL listener. */
  brokers: string;
  certs: TestCertificates;
  /** The environment of a program connecting as `user` (the one env list of shared/config.ts). */
  env(user: { mechanism: string; username: string; password: string }): Record<string, string>;
  close(): Promise<void>;
}

/** Generates certificates and starts the broker. */
export async function startSecureKafka(): Promise<SecureKafka> {
  const certs = await makeCertificates();
  const local = new LocalKafka({
    security: {
      keystoreFile: certs.serverKeystoreFile,
      clientCaFile: certs.caFile,
      clientAuth: "requested",
      scramUsers: [
        { mechanism: "SCRAM-SHA-256", name: USERS.scram256.username, password: USERS.scram256.password },
        { mechanism: "SCRAM-SHA-512", name: USERS.scram512.username, password: USERS.scram512.password },
      ],
      plainUsers: { [USERS.plain.username]: USERS.plain.password },
    },
  });
  try {
    await local.start();
  } catch (e) {
    await local.dispose();
    await certs.remove();
    throw e;
  }
  return {
    local,
    brokers: local.secureBrokers,
    certs,
    env: (user) => ({
      KAFKA_BROKERS: local.secureBrokers,
      KAFKA_SSL: "true",
      KAFKA_SSL_CA_FILE: certs.caFile,
      KAFKA_SASL_MECHANISM: user.mechanism,
      KAFKA_SASL_USERNAME: user.username,
      KAFKA_SASL_PASSWORD: user.password,
    }),
    close: async () => {
      await local.dispose();
      await certs.remove();
    },
  };
}
