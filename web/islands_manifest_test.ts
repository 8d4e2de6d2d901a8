import assert from "node:assert/strict";
import { ISLANDS } from "./islands_manifest.ts";
import { findIslands } from "./islands_runtime/build.ts";
import { islandNames } from "./islands_runtime/server.ts";

Deno.test("the islands manifest lists exactly the modules of web/islands/", async () => {
  const dir = new URL("./islands", import.meta.url).pathname;
  const found = [...(await findIslands(dir)).keys()];
  assert.deepEqual(Object.keys(ISLANDS).sort(), found.sort());
  for (const name of found) assert.ok(islandNames().includes(name), name);
});
