/**
 * SASL on a fresh broker connection, before any other request: SaslHandshake
 * names the mechanism, then SaslAuthenticate carries PLAIN's one message or
 * SCRAM's two rounds (`scram.ts`). A refusal is a `KafkaAuthenticationError`.
 */
import type { KafkaSasl } from "@iot/shared";
import type { Connection } from "./connection.ts";
import { KafkaAuthenticationError, protocolError } from "./errors.ts";
import {
  decodeSaslAuthenticateResponse,
  decodeSaslHandshakeResponse,
  encodeSaslAuthenticateRequest,
  encodeSaslHandshakeRequest,
  SASL_AUTHENTICATE,
  SASL_HANDSHAKE,
} from "./protocol/sasl.ts";
import { ScramClient, ScramError, scramText } from "./scram.ts";

const encoder = new TextEncoder();
const UNSUPPORTED_SASL_MECHANISM = 33;

/** What the broker granted: how long the session lasts (0: as long as the connection). */
export interface SaslSession {
  sessionLifetimeMs: number;
}

/** Authenticates `conn` with `sasl`; rejects with `KafkaAuthenticationError` when the broker refuses. */
export async function authenticate(conn: Connection, sasl: KafkaSasl, timeoutMs: number): Promise<SaslSession> {
  const mechanism = sasl.mechanism.toUpperCase();
  const hs = decodeSaslHandshakeResponse(
    (await conn.request(SASL_HANDSHAKE, encodeSaslHandshakeRequest(mechanism), { timeoutMs }))!,
  );
  if (hs.error === UNSUPPORTED_SASL_MECHANISM) {
    throw new KafkaAuthenticationError(
      `Kafka at ${conn.address} does not enable SASL mechanism ${mechanism} (it enables ${
        hs.mechanisms.join(", ") || "none"
      })`,
    );
  }
  if (hs.error !== 0) throw protocolError(hs.error, `SaslHandshake with ${conn.address}`);
  const step = async (message: string) => {
    const r = await conn.request(SASL_AUTHENTICATE, encodeSaslAuthenticateRequest(encoder.encode(message)), {
      timeoutMs,
    });
    const res = decodeSaslAuthenticateResponse(r!);
    if (res.error !== 0) {
      const reason = res.errorMessage ?? protocolError(res.error, "SaslAuthenticate").message;
      throw new KafkaAuthenticationError(
        `SASL ${mechanism} authentication of user ${sasl.username} to ${conn.address} failed: ${reason}`,
      );
    }
    return res;
  };
  if (sasl.mechanism === "plain") {
    const res = await step(`\0${sasl.username}\0${sasl.password}`);
    return { sessionLifetimeMs: res.sessionLifetimeMs };
  }
  const scram = new ScramClient({
    hash: sasl.mechanism === "scram-sha-256" ? "SHA-256" : "SHA-512",
    username: sasl.username,
    password: sasl.password,
  });
  try {
    const first = await step(scram.clientFirst());
    const final = await step(await scram.clientFinal(scramText(first.authBytes)));
    scram.verifyServerFinal(scramText(final.authBytes));
    return { sessionLifetimeMs: final.sessionLifetimeMs };
  } catch (e) {
    if (e instanceof ScramError) {
      throw new KafkaAuthenticationError(`SASL ${mechanism} with ${conn.address} failed: ${e.message}`);
    }
    throw e;
  }
}
