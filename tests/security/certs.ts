/**
 * Test certificates made with `openssl` at test time: a CA, a broker
 * certificate for 127.0.0.1/localhost signed by it, a client certificate
 * signed by it, and a client certificate from a second, untrusted CA.
 */

/** The PEM files of `makeCertificates`, by role. */
export interface TestCertificates {
  dir: string;
  /** The CA's certificate (what clients trust). */
  caFile: string;
  /** The broker's key and certificate chain in one PEM file (a Kafka PEM keystore). */
  serverKeystoreFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** A client certificate and key signed by a CA the broker does not trust. */
  strangerCertFile: string;
  strangerKeyFile: string;
  /** Removes the directory. */
  remove(): Promise<void>;
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`openssl ${args.slice(0, 2).join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** `openssl` with space-separated words (no word here contains a space). */
function words(line: string): string[] {
  return line.trim().split(/\s+/);
}

async function ca(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    ...words(`req -x509 -newkey rsa:2048 -nodes -keyout ${name}.key -out ${name}.pem -days 2 -subj /CN=${name}`),
    ...words("-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"),
  ]);
}

async function leaf(dir: string, name: string, signer: string, ext: string): Promise<void> {
  await Deno.writeTextFile(`${dir}/${name}.ext`, ext);
  await openssl(dir, words(`req -newkey rsa:2048 -nodes -keyout ${name}.key -out ${name}.csr -subj /CN=${name}`));
  await openssl(dir, [
    ...words(`x509 -req -in ${name}.csr -CA ${signer}.pem -CAkey ${signer}.key -CAcreateserial`),
    ...words(`-out ${name}.pem -days 2 -extfile ${name}.ext`),
  ]);
}

/** Generates the certificates into a fresh temporary directory. */
export async function makeCertificates(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "iot-certs-" });
  await ca(dir, "ca");
  await ca(dir, "stranger-ca");
  const common = "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n";
  await leaf(dir, "broker", "ca", `${common}extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n`);
  await leaf(dir, "client", "ca", `${common}extendedKeyUsage=clientAuth\n`);
  await leaf(dir, "stranger", "stranger-ca", `${common}extendedKeyUsage=clientAuth\n`);
  const keystore = `${dir}/broker-keystore.pem`;
  await Deno.writeTextFile(
    keystore,
    (await Deno.readTextFile(`${dir}/broker.key`)) + (await Deno.readTextFile(`${dir}/broker.pem`)) +
      (await Deno.readTextFile(`${dir}/ca.pem`)),
  );
  return {
    dir,
    caFile: `${dir}/ca.pem`,
    serverKeystoreFile: keystore,
    clientCertFile: `${dir}/client.pem`,
    clientKeyFile: `${dir}/client.key`,
    strangerCertFile: `${dir}/stranger.pem`,
    strangerKeyFile: `${dir}/stranger.key`,
    remove: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  };
}
