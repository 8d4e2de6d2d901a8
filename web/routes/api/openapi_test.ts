import assert from "node:assert/strict";
import { MongoClient } from "mongodb";
import { createLogger, SENSOR_ID_PATTERN, VOCABULARY_PATTERN } from "@iot/shared";
import { API_ROUTES, createApp } from "../../app.ts";
import { OPENAPI } from "./openapi.ts";

/** `/api/website/:url{.+}` → `/api/website/{url}`. */
const toOpenApi = (path: string) => path.replace(/:([A-Za-z_]+)(\{[^}]*\})?/g, "{$1}");

type Operation = { parameters?: { name: string; in: string }[] };
const paths = OPENAPI.paths as unknown as Record<string, Record<string, Operation>>;

Deno.test("openapi.json: every registered API route is described, and every described route is registered", async () => {
  // Routes register without touching the database: the client never connects.
  const client = new MongoClient("mongodb://127.0.0.1:1", { serverSelectionTimeoutMS: 100 });
  const web = createApp({ db: client.db("x"), logger: createLogger({ name: "test", level: "error" }) });
  try {
    const registered = new Set(
      web.app.routes
        .filter((r) => r.path.startsWith("/api/") && r.method !== "ALL")
        .map((r) => `${r.method} ${toOpenApi(r.path)}`),
    );
    const described = new Set(
      Object.entries(paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)),
    );
    assert.deepEqual([...registered].sort(), [...described].sort());
    assert.equal(OPENAPI.openapi, "3.1.0");
    const served = await web.app.request("/api/openapi.json");
    assert.equal(served.status, 200);
    assert.deepEqual(await served.json(), OPENAPI);
  } finally {
    await web.close();
    await client.close();
  }
});

Deno.test("openapi.json: each route's query parameters are exactly those its handler accepts", () => {
  for (const r of API_ROUTES) {
    const op = paths[toOpenApi(r.path)]?.[r.method.toLowerCase()];
    assert.ok(op, `${r.method} ${r.path} described`);
    const query = (op.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name).sort();
    const accepted = r.method === "GET" ? Object.keys(r.route.PARAMS ?? {}).sort() : [];
    assert.deepEqual(query, accepted, `${r.method} ${r.path}`);
    const pathParams = (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name).sort();
    assert.deepEqual(pathParams, [...r.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]).sort(), r.path);
  }
});

Deno.test("openapi.json: sensor types and locations follow the shared vocabulary pattern", () => {
  const schemas = OPENAPI.components.schemas as Record<string, { pattern?: string; enum?: unknown }>;
  for (const name of ["SensorType", "Location"]) {
    assert.equal(schemas[name].pattern, VOCABULARY_PATTERN, name);
    assert.equal(schemas[name].enum, undefined, `${name} is open`);
  }
});

Deno.test("openapi.json: sensor ids follow the reading contract's pattern", () => {
  const schemas = OPENAPI.components.schemas as Record<string, { pattern?: string }>;
  assert.equal(schemas.SensorId.pattern, SENSOR_ID_PATTERN);
});
