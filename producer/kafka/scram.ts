/**
 * The client side of SCRAM (RFC 5802) with SHA-256 or SHA-512 (RFC 7677), as
 * Kafka speaks it: no channel binding (`n,,`), the user name escaped
 * (`=` → `=3D`, `,` → `=2C`), the password's UTF-8 bytes as Kafka's own
 * clients use them. PBKDF2, HMAC and the hash come from WebCrypto.
 */

/** The hash of a SCRAM mechanism. */
export type ScramHash = "SHA-256" | "SHA-512";

/** The server's SCRAM messages were malformed, or it failed to prove it knows the password. */
export class ScramError extends Error {
  override name = "ScramError";
}

/** Options of `ScramClient`. */
export interface ScramClientOptions {
  hash: ScramHash;
  username: string;
  password: string;
  /** The client nonce (default: 24 random bytes, base64); fixed only in tests. */
  nonce?: string;
  /** Highest iteration count accepted from the server (default 100 000), bounding the work it can ask for. */
  maxIterations?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const GS2_HEADER = "n,,";

function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function unbase64(text: string, what: string): Uint8Array<ArrayBuffer> {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    throw new ScramError(`SCRAM ${what} is not base64`);
  }
}

/** The attributes of a SCRAM message `a=…,b=…` (values may contain `=`). */
function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(",")) {
    const i = part.indexOf("=");
    if (i !== 1) throw new ScramError(`Malformed SCRAM message attribute "${part.slice(0, 20)}"`);
    out.set(part[0], part.slice(2));
  }
  return out;
}

/**
 * One SCRAM exchange: `clientFirst()`, then `clientFinal(serverFirst)`, then
 * `verifyServerFinal(serverFinal)`, which throws unless the server proved it
 * holds the user's credentials.
 *
 * @example
 * ```ts
 * const scram = new ScramClient({ hash: "SHA-256", username: "alice", password: "secret" });
 * const first = scram.clientFirst(); // send, receive serverFirst
 * const final = await scram.clientFinal(serverFirst); // send, receive serverFinal
 * await scram.verifyServerFinal(serverFinal);
 * ```
 */
export class ScramClient {
  readonly #o: ScramClientOptions;
  readonly #nonce: string;
  #firstBare = "";
  #serverSignature?: Uint8Array;

  constructor(options: ScramClientOptions) {
    this.#o = options;
    this.#nonce = options.nonce ?? base64(crypto.getRandomValues(new Uint8Array(24)));
  }

  /** The client-first message. */
  clientFirst(): string {
    const name = this.#o.username.replace(/=/g, "=3D").replace(/,/g, "=2C");
    this.#firstBare = `n=${name},r=${this.#nonce}`;
    return GS2_HEADER + this.#firstBare;
  }

  /** The client-final message (with the proof) answering the server-first message. */
  async clientFinal(serverFirst: string): Promise<string> {
    const a = attributes(serverFirst);
    if (a.has("m")) throw new ScramError("SCRAM server asks for an unsupported extension");
    const nonce = a.get("r");
    const salt = a.get("s");
    const iterations = Number(a.get("i"));
    if (!nonce || !nonce.startsWith(this.#nonce) || nonce.length === this.#nonce.length) {
      throw new ScramError("SCRAM server nonce does not extend the client's");
    }
    if (!salt) throw new ScramError("SCRAM server-first message has no salt");
    const max = this.#o.maxIterations ?? 100_000;
    if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > max) {
      throw new ScramError(`SCRAM iteration count must be from 1 to ${max}, got "${a.get("i")}"`);
    }
    const withoutProof = `c=${btoa(GS2_HEADER)},r=${nonce}`;
    const authMessage = encoder.encode(`${this.#firstBare},${serverFirst},${withoutProof}`);
    const salted = await this.#pbkdf2(unbase64(salt, "salt"), iterations);
    const clientKey = await this.#hmac(salted, encoder.encode("Client Key"));
    const storedKey = new Uint8Array(await crypto.subtle.digest(this.#o.hash, clientKey));
    const signature = await this.#hmac(storedKey, authMessage);
    const proof = clientKey.map((b, i) => b ^ signature[i]);
    const serverKey = await this.#hmac(salted, encoder.encode("Server Key"));
    this.#serverSignature = await this.#hmac(serverKey, authMessage);
    return `${withoutProof},p=${base64(proof)}`;
  }

  /** Checks the server-final message: throws `ScramError` on a server error or a wrong server signature. */
  verifyServerFinal(serverFinal: string): void {
    if (!this.#serverSignature) throw new ScramError("SCRAM server-final message before the client-final one");
    const a = attributes(serverFinal);
    const error = a.get("e");
    if (error !== undefined) throw new ScramError(`SCRAM server error: ${error}`);
    const v = unbase64(a.get("v") ?? "", "server signature");
    const expected = this.#serverSignature;
    if (v.length !== expected.length || v.some((b, i) => b !== expected[i])) {
      throw new ScramError("SCRAM server signature is wrong: the server does not know the credentials");
    }
  }

  async #pbkdf2(salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array<ArrayBuffer>> {
    const key = await crypto.subtle.importKey("raw", encoder.encode(this.#o.password), "PBKDF2", false, [
      "deriveBits",
    ]);
    const bits = this.#o.hash === "SHA-256" ? 256 : 512;
    const params = { name: "PBKDF2", hash: this.#o.hash, salt, iterations };
    return new Uint8Array(await crypto.subtle.deriveBits(params, key, bits));
  }

  async #hmac(key: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
    const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: this.#o.hash }, false, ["sign"]);
    return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
  }
}

/** Decodes a SCRAM message received as bytes. */
export function scramText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
