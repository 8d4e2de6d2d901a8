import assert from "node:assert/strict";
import { type Signal, signal } from "@preact/signals";
import { deserializeProps, IslandPropsError, serializeProps } from "./serialize.ts";
import { type ClientAssets, registerIsland, renderPage } from "./server.ts";

const assets: ClientAssets = {
  boot: "/static/_build/boot-X.js",
  islands: { Counter: "/static/_build/Counter-A.js", Outer: "/static/_build/Outer-B.js" },
};

function Counter(props: { count: Signal<number>; label: string }) {
  return <span class="counter">{props.label}: {props.count.value}</span>;
}
function Outer(props: { title: string }) {
  return (
    <section>
      <h2>{props.title}</h2>
      <Counter count={signal(7)} label="inner" />
    </section>
  );
}
registerIsland("Counter", Counter);
registerIsland("Outer", Outer);

function Page(props: { children?: preact.ComponentChildren }) {
  return (
    <html>
      <head>
        <title>t</title>
      </head>
      <body>{props.children}</body>
    </html>
  );
}

function propsOf(html: string): { islands: { id: number; name: string; props: Record<string, unknown> }[] } {
  const m = /<script type="application\/json" id="__island_props" nonce="[^"]*">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, "props element present");
  return deserializeProps(m[1]);
}

Deno.test("props round-trip: signals, dates, undefined, non-finite numbers and tag-like keys", () => {
  const when = new Date("2026-01-02T03:04:05.678Z");
  const input = {
    count: signal(3),
    nested: { list: [1, "two", null, signal({ deep: true })] },
    when,
    missing: undefined,
    inf: Infinity,
    nan: NaN,
    tricky: { $t: "s", v: 1 },
  };
  const out = deserializeProps<typeof input>(serializeProps(input));
  assert.equal(out.count.value, 3);
  assert.equal(typeof out.count.subscribe, "function", "a real signal on the other side");
  const inner = out.nested.list[3] as Signal<{ deep: boolean }>;
  assert.deepEqual(inner.value, { deep: true });
  assert.deepEqual(out.nested.list.slice(0, 3), [1, "two", null]);
  assert.ok(out.when instanceof Date && out.when.getTime() === when.getTime());
  assert.ok("missing" in out && out.missing === undefined);
  assert.equal(out.inf, Infinity);
  assert.ok(Number.isNaN(out.nan));
  assert.deepEqual(out.tricky, { $t: "s", v: 1 });
});

Deno.test("serialised props cannot close the script element", () => {
  const text = serializeProps({ evil: "</script><script>alert(1)</script>", amp: "a&b", sep: "\u2028" });
  assert.ok(!text.includes("<"), text);
  assert.ok(!text.includes("\u2028"));
  assert.deepEqual(deserializeProps(text), { evil: "</script><script>alert(1)</script>", amp: "a&b", sep: "\u2028" });
});

Deno.test("functions, elements and class instances are refused as props", () => {
  assert.throws(() => serializeProps({ f: () => 1 }), IslandPropsError);
  assert.throws(() => serializeProps({ el: <b>x</b> }), IslandPropsError);
  assert.throws(() => serializeProps({ m: new Map() }), IslandPropsError);
  const loop: Record<string, unknown> = {};
  loop.self = loop;
  assert.throws(() => serializeProps(loop), IslandPropsError);
});

Deno.test("a page without islands has no boot script and no props", () => {
  const { html, islands } = renderPage(
    <Page>
      <p>static</p>
    </Page>,
    { nonce: "n1" },
  );
  assert.equal(islands.length, 0);
  assert.ok(html.startsWith("<!DOCTYPE html>"));
  assert.ok(!html.includes("<script"), html);
  assert.ok(html.includes("<p>static</p>"));
});

Deno.test("an island renders server-side inside a marker, with its props and the boot script", () => {
  const { html, islands } = renderPage(
    <Page>
      <Counter count={signal(5)} label="</script>&" />
    </Page>,
    { nonce: "abc", assets },
  );
  assert.equal(islands.length, 1);
  assert.match(html, /<div data-island="Counter" data-island-id="0"><span class="counter">/);
  assert.ok(html.includes("&lt;/script>&amp;: 5"), "text escaped by Preact");
  assert.ok(html.includes(`<script type="module" nonce="abc" src="/static/_build/boot-X.js"></script>`));
  const data = propsOf(html);
  assert.equal(data.islands[0].name, "Counter");
  assert.equal((data.islands[0].props.count as Signal<number>).value, 5);
  assert.equal(data.islands[0].props.label, "</script>&");
  // Every script element carries the nonce.
  for (const m of html.matchAll(/<script\b[^>]*>/g)) assert.ok(m[0].includes('nonce="abc"'), m[0]);
  assert.ok(html.indexOf("__island_props") < html.indexOf("</body>"));
});

Deno.test("a nested island is hydrated by its parent: one marker, the inner markup inside it", () => {
  const { html, islands } = renderPage(
    <Page>
      <Outer title="outer" />
      <Counter count={signal(1)} label="sibling" />
    </Page>,
    { nonce: "n", assets },
  );
  assert.deepEqual(islands.map((i) => i.name), ["Outer", "Counter"]);
  assert.equal((html.match(/data-island=/g) ?? []).length, 2);
  assert.match(html, /data-island="Outer"[^>]*><section><h2>outer<\/h2><span class="counter">inner: 7<\/span>/);
  const data = propsOf(html);
  assert.deepEqual(data.islands[0].props, { title: "outer" });
});

Deno.test("an island outside renderPage renders as a plain component", async () => {
  const { renderToString } = await import("preact-render-to-string");
  assert.equal(renderToString(<Counter count={signal(2)} label="x" />), `<span class="counter">x: 2</span>`);
});

Deno.test("without client bundles, islands render as static markup and no script is added", () => {
  const { html, islands } = renderPage(
    <Page>
      <Counter count={signal(4)} label="static" />
    </Page>,
    { nonce: "n" },
  );
  assert.equal(islands.length, 1);
  assert.ok(html.includes("static: 4"));
  assert.ok(!html.includes("<script"));
});
