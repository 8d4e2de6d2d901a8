import assert from "node:assert/strict";
import { parseTargets } from "./targets.ts";

Deno.test("parseTargets fills defaults and accepts { targets: [...] }", () => {
  const [t] = parseTargets({ targets: [{ url: "http://127.0.0.1:8080/x" }] });
  assert.deepEqual(t, {
    url: "http://127.0.0.1:8080/x",
    name: "127.0.0.1:8080",
    category: "default",
    intervalS: 30,
    timeoutS: 10,
  });
  const [u] = parseTargets([{ url: "http://127.0.0.1:1/", name: "n", category: "c", interval: 2, timeout: 0.5 }]);
  assert.equal(u.intervalS, 2);
  assert.equal(u.timeoutS, 0.5);
});

Deno.test("parseTargets names the first bad entry", () => {
  assert.throws(() => parseTargets([]), /no targets/);
  assert.throws(() => parseTargets({}), /JSON array/);
  assert.throws(() => parseTargets([{ name: "x" }]), /entry 1: url is required/);
  assert.throws(() => parseTargets([{ url: "ftp://127.0.0.1/" }]), /http or https/);
  assert.throws(() => parseTargets([{ url: "nope" }]), /not a valid URL/);
  assert.throws(() => parseTargets([{ url: "http://127.0.0.1/", interval: 0 }]), /entry 1: interval/);
  assert.throws(() => parseTargets([{ url: "http://127.0.0.1/" }, { url: "http://127.0.0.1/" }]), /entry 2: .*twice/);
});
