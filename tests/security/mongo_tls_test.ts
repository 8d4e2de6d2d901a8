/**
 * MongoDB over TLS through `createMongoClient`: MONGO_TLS_CA_FILE and the
 * URL's `tls=true&tlsCAFile=…` both reach the driver, and a server whose CA is
 * not given is refused. The stand-in speaks no TLS, so a TLS front made with a
 * test-time certificate sits before it.
 */
import assert from "node:assert/strict";
import { createMongoClient, loadCommonConfig } from "@iot/shared";
import { useMongo } from "../../dev/testing.ts";
import { makeCertificates } from "./certs.ts";
import { startTlsTerminator } from "./tls_terminator.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("MongoDB TLS settings from MONGO_TLS_* or the URL reach the driver", opts, async () => {
  const mongo = await useMongo();
  const certs = await makeCertificates();
  const port = Number(new URL(mongo.url.replace(/^mongodb:/, "http:")).port);
  const front = startTlsTerminator({
    targetPort: port,
    cert: (await Deno.readTextFile(`${certs.dir}/broker.pem`)) + (await Deno.readTextFile(certs.caFile)),
    key: await Deno.readTextFile(`${certs.dir}/broker.key`),
  });
  const base = `mongodb://127.0.0.1:${front.port}/?directConnection=true`;
  const roundTrip = async (env: Record<string, string>) => {
    const config = loadCommonConfig({ ...env, MONGO_DB: mongo.dbName });
    const client = createMongoClient(config.mongo, {
      appName: "tls-test",
      overrides: { serverSelectionTimeoutMS: 3000 },
    });
    try {
      await client.connect();
      const c = client.db(mongo.dbName).collection("tls_probe");
      await c.insertOne({ via: JSON.stringify(Object.keys(env)) });
      return await c.countDocuments();
    } finally {
      await client.close(true).catch(() => {});
    }
  };
  try {
    assert.equal(await roundTrip({ MONGO_URL: base, MONGO_TLS_CA_FILE: certs.caFile }), 1);
    assert.equal(await roundTrip({ MONGO_URL: `${base}&tls=true&tlsCAFile=${encodeURIComponent(certs.caFile)}` }), 2);
    // TLS without our CA: the server's certificate is not trusted.
    await assert.rejects(roundTrip({ MONGO_URL: base, MONGO_TLS: "true" }), /certificate|self.signed|issuer/i);
    // Without TLS the front's handshake never completes.
    await assert.rejects(roundTrip({ MONGO_URL: base }));
    assert.throws(
      () => loadCommonConfig({ MONGO_TLS_CA_FILE: `${certs.dir}/missing.pem` }),
      /^ConfigError: MONGO_TLS_CA_FILE cannot be read/,
    );
  } finally {
    front.close();
    await certs.remove();
    await mongo.close();
  }
});
