import assert from "node:assert/strict";
import { ScramClient, ScramError } from "./scram.ts";

// RFC 7677 section 3: SCRAM-SHA-256 with user "user", password "pencil".
const RFC_NONCE = "rOprNGfwEbeRWgbNEkqO";
const RFC_SERVER_FIRST = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const RFC_CLIENT_FINAL =
  "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
const RFC_SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

function rfcClient(password = "pencil"): ScramClient {
  return new ScramClient({ hash: "SHA-256", username: "user", password, nonce: RFC_NONCE });
}

Deno.test("SCRAM-SHA-256 reproduces the RFC 7677 test vector", async () => {
  const c = rfcClient();
  assert.equal(c.clientFirst(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  assert.equal(await c.clientFinal(RFC_SERVER_FIRST), RFC_CLIENT_FINAL);
  c.verifyServerFinal(RFC_SERVER_FINAL); // does not throw
});

Deno.test("SCRAM rejects a wrong server signature, a server error and a nonce the client did not start", async () => {
  const wrong = rfcClient("not-pencil");
  wrong.clientFirst();
  assert.notEqual(await wrong.clientFinal(RFC_SERVER_FIRST), RFC_CLIENT_FINAL);
  assert.throws(() => wrong.verifyServerFinal(RFC_SERVER_FINAL), /server signature is wrong/);
  const c = rfcClient();
  c.clientFirst();
  await c.clientFinal(RFC_SERVER_FIRST);
  assert.throws(() => c.verifyServerFinal("e=invalid-proof"), /SCRAM server error: invalid-proof/);
  const other = rfcClient();
  other.clientFirst();
  await assert.rejects(other.clientFinal("r=someone-else,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"), ScramError);
  await assert.rejects(other.clientFinal(`r=${RFC_NONCE}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999`), /iteration/);
  await assert.rejects(other.clientFinal(`m=ext,r=${RFC_NONCE}x,s=AA==,i=4096`), /extension/);
});

Deno.test("SCRAM escapes = and , in user names", () => {
  const c = new ScramClient({ hash: "SHA-512", username: "a=b,c", password: "p", nonce: "n0" });
  assert.equal(c.clientFirst(), "n,,n=a=3Db=2Cc,r=n0");
});

Deno.test("SCRAM-SHA-512 proof verifies against a server computing it independently", async () => {
  const hash = "SHA-512";
  const enc = new TextEncoder();
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iterations = 4096;
  const hmac = async (key: Uint8Array<ArrayBuffer>, data: string) => {
    const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash }, false, ["sign"]);
    return new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(data)));
  };
  const pw = await crypto.subtle.importKey("raw", enc.encode("s3cret"), "PBKDF2", false, ["deriveBits"]);
  const salted = new Uint8Array(
    await crypto.subtle.deriveBits({ name: "PBKDF2", hash, salt, iterations }, pw, 512),
  );
  const storedKey = new Uint8Array(await crypto.subtle.digest(hash, await hmac(salted, "Client Key")));
  const serverKey = await hmac(salted, "Server Key");

  const client = new ScramClient({ hash, username: "alice", password: "s3cret" });
  const first = client.clientFirst();
  const cnonce = first.split("r=")[1];
  const serverFirst = `r=${cnonce}srv,s=${btoa(String.fromCharCode(...salt))},i=${iterations}`;
  const final = await client.clientFinal(serverFirst);
  const withoutProof = final.slice(0, final.lastIndexOf(",p="));
  const proof = Uint8Array.from(atob(final.slice(final.lastIndexOf(",p=") + 3)), (ch) => ch.charCodeAt(0));
  const authMessage = `${first.slice(3)},${serverFirst},${withoutProof}`;
  const signature = await hmac(storedKey, authMessage);
  const clientKey = proof.map((b, i) => b ^ signature[i]);
  assert.deepEqual(new Uint8Array(await crypto.subtle.digest(hash, clientKey)), storedKey, "server accepts the proof");
  const serverSignature = await hmac(serverKey, authMessage);
  client.verifyServerFinal(`v=${btoa(String.fromCharCode(...serverSignature))}`);
});
