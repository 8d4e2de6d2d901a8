import assert from "node:assert/strict";
import { Hono } from "hono";
import { staticFiles } from "./static_files.ts";

Deno.test("staticFiles: types, caching, built-on-demand bundles, unsafe names refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/_build`);
    await Deno.writeTextFile(`${dir}/style.css`, "body{}");
    await Deno.writeTextFile(`${dir}/.hidden`, "secret");
    let builds = 0;
    const app = new Hono();
    app.get(
      "/static/*",
      staticFiles({
        dir,
        prefix: "/static/",
        beforeBuild: async () => {
          builds++;
          await Deno.writeTextFile(`${dir}/_build/boot-ABC.js`, "export {}");
        },
      }),
    );
    const css = await app.request("/static/style.css");
    assert.equal(css.status, 200);
    assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
    assert.equal(css.headers.get("cache-control"), "no-cache");
    assert.equal(await css.text(), "body{}");
    assert.equal(builds, 0);
    const js = await app.request("/static/_build/boot-ABC.js");
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type") ?? "", /javascript/);
    assert.match(js.headers.get("cache-control") ?? "", /immutable/);
    await js.body?.cancel();
    assert.equal(builds, 1, "bundles built before serving them");
    for (const path of ["/static/.hidden", "/static/../x", "/static/%2e%2e/x", "/static/missing.css", "/static/"]) {
      const r = await app.request(path);
      assert.equal(r.status, 404, path);
      await r.body?.cancel();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
