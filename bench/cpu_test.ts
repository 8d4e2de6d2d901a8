import assert from "node:assert/strict";
import { CpuMeter, cpuSeconds } from "./cpu.ts";

Deno.test("cpuSeconds grows while this process computes, and CpuMeter reports cores used", async () => {
  const meter = new CpuMeter({ self: Deno.pid, gone: 2 ** 22 + 12345 });
  await meter.start();
  const before = await cpuSeconds(Deno.pid);
  const until = performance.now() + 300;
  let x = 0;
  while (performance.now() < until) x += Math.sqrt(x + 1);
  const after = await cpuSeconds(Deno.pid);
  const cores = await meter.stop();
  assert.ok(x > 0);
  assert.ok(after! > before!, "CPU time advanced");
  assert.ok(cores.self > 0, `the busy loop used CPU (${cores.self} cores)`);
  assert.equal(cores.gone, undefined, "a missing process is left out");
});
