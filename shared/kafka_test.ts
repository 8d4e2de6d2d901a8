import assert from "node:assert/strict";
import { kafkaJsSecurity } from "./kafka.ts";

Deno.test("kafkaJsSecurity maps our TLS and SASL settings onto kafkajs's", () => {
  assert.deepEqual(kafkaJsSecurity({}), {});
  assert.deepEqual(kafkaJsSecurity({ tls: {} }), { ssl: { rejectUnauthorized: true } });
  assert.deepEqual(
    kafkaJsSecurity({
      tls: { ca: "CA", cert: "CERT", key: "KEY" },
      sasl: { mechanism: "scram-sha-256", username: "u", password: "p" },
    }),
    {
      ssl: { rejectUnauthorized: true, ca: ["CA"], cert: "CERT", key: "KEY" },
      sasl: { mechanism: "scram-sha-256", username: "u", password: "p" },
    },
  );
});
