/**
 * SaslHandshake v1 (API key 17) and SaslAuthenticate v2 (API key 36, a flexible
 * version): choosing a mechanism, then exchanging its messages as opaque bytes.
 */
import type { Api } from "../connection.ts";
import { type Reader, Writer } from "./bytes.ts";

/** The API key and version of SaslHandshake this codec speaks. */
export const SASL_HANDSHAKE: Api = { key: 17, version: 1 };
/** The API key and version of SaslAuthenticate this codec speaks (flexible: tagged fields, compact fields). */
export const SASL_AUTHENTICATE: Api = { key: 36, version: 2, flexible: true };

/** The SaslHandshake request: the mechanism's name, e.g. `SCRAM-SHA-256`. */
export function encodeSaslHandshakeRequest(mechanism: string): Uint8Array {
  return new Writer(32).string(mechanism).result();
}

/** The SaslHandshake response: an error code and the mechanisms the broker enables. */
export function decodeSaslHandshakeResponse(r: Reader): { error: number; mechanisms: string[] } {
  const error = r.int16();
  return { error, mechanisms: r.array((x) => x.string() ?? "") };
}

/** The SaslAuthenticate request: one message of the mechanism. */
export function encodeSaslAuthenticateRequest(authBytes: Uint8Array): Uint8Array {
  return new Writer(authBytes.length + 8).compactBytes(authBytes).noTags().result();
}

/** What a SaslAuthenticate response says. */
export interface SaslAuthenticateResponse {
  error: number;
  errorMessage: string | null;
  authBytes: Uint8Array;
  /** How long the session may last before the broker closes it, ms (0: no limit). */
  sessionLifetimeMs: number;
}

/** Decodes a SaslAuthenticate response. */
export function decodeSaslAuthenticateResponse(r: Reader): SaslAuthenticateResponse {
  const error = r.int16();
  const errorMessage = r.compactString();
  const authBytes = r.compactBytes() ?? new Uint8Array();
  const sessionLifetimeMs = Number(r.int64());
  r.skipTags();
  return { error, errorMessage, authBytes, sessionLifetimeMs };
}
