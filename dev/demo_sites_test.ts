/** The demo sites answer as the built-in targets expect, and the targets file they make is a valid one. */
import assert from "node:assert/strict";
import { parseTargets } from "../producer/http/mod.ts";
import { builtInTargets, DEMO_PATHS, demoHandler, startDemoSites, targetsFile } from "./demo_sites.ts";

Deno.test("the demo handler: healthy 200, slow 200 once its delay is over, failing 503, others 404", async () => {
  const stop = new AbortController();
  const handle = demoHandler(600_000, stop.signal);
  const get = (path: string) => handle(new Request(`http://demo${path}`));
  assert.equal((await get(DEMO_PATHS.healthy)).status, 200);
  let answered = false;
  const slow = get(DEMO_PATHS.slow).then((r) => (answered = true, r));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(answered, false, "the slow endpoint holds its answer");
  stop.abort(); // the server's shutdown ends the wait
  assert.equal((await slow).status, 200);
  const failing = await get(DEMO_PATHS.failing);
  assert.equal(failing.status, 503);
  assert.equal(failing.statusText, "Service Unavailable");
  assert.equal((await get("/other")).status, 404);
});

Deno.test("the built-in targets: each processor and the dashboard /healthz, and the three demo sites", async () => {
  const demo = startDemoSites({ slowMs: 10 });
  try {
    assert.match(demo.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const targets = builtInTargets({ demo: demo.url, processors: [9101, 9102], web: 8000 });
    assert.deepEqual(targets.map((t) => [t.name, t.url]), [
      ["Processor 1", "http://127.0.0.1:9101/healthz"],
      ["Processor 2", "http://127.0.0.1:9102/healthz"],
      ["Dashboard", "http://127.0.0.1:8000/healthz"],
      ["Demo healthy", `${demo.url}/healthy`],
      ["Demo slow", `${demo.url}/slow`],
      ["Demo failing", `${demo.url}/failing`],
    ]);
    // The file up writes is read back by the checker's own parser unchanged.
    assert.deepEqual(parseTargets(JSON.parse(targetsFile(targets))), targets);
    for (const [path, status] of [["/healthy", 200], ["/slow", 200], ["/failing", 503]] as const) {
      const res = await fetch(`${demo.url}${path}`);
      await res.body?.cancel();
      assert.equal(res.status, status, path);
    }
    assert.equal(builtInTargets({ demo: demo.url, processors: [9101], web: 8000 })[0].name, "Processor");
  } finally {
    await demo.close();
  }
});
