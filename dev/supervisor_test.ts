/** The supervisor stops programs in order within a deadline, and kills what does not stop. */
import assert from "node:assert/strict";
import { Supervisor } from "./supervisor.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function script(dir: string, name: string, body: string): Promise<string> {
  const path = `${dir}/${name}.ts`;
  await Deno.writeTextFile(path, body);
  return path;
}

Deno.test("stopAll stops programs in order and kills one that ignores SIGTERM at the deadline", opts, async () => {
  const dir = await Deno.makeTempDir({ prefix: "iot-sup-" });
  const lines: string[] = [];
  const sup = new Supervisor({ root: dir, color: false, write: (l) => lines.push(l) });
  try {
    const ready = "console.log('ready'); setInterval(() => {}, 1000);";
    await sup.start({
      name: "polite",
      script: await script(dir, "polite", `Deno.addSignalListener("SIGTERM", () => Deno.exit(0)); ${ready}`),
      env: {},
    }, 10_000);
    await sup.start({
      name: "stubborn",
      script: await script(dir, "stubborn", `Deno.addSignalListener("SIGTERM", () => {}); ${ready}`),
      env: {},
    }, 10_000);
    // Both print "ready" once they run (their signal listeners are installed before).
    while (lines.filter((l) => l.endsWith("| ready")).length < 2) await new Promise((r) => setTimeout(r, 50));
    const killed = await sup.stopAll(["polite", "stubborn"], 1500);
    assert.deepEqual(killed, ["stubborn"]);
    assert.deepEqual(sup.pids(), [], "nothing left running");
    const said = lines.filter((l) => l.startsWith("up")).map((l) => l.replace(/^up\s*\| /, ""));
    assert.deepEqual(said, [
      "stopping polite ...",
      "polite stopped (exit 0)",
      "stopping stubborn ...",
      "stubborn did not stop within the stop deadline; killing it",
      "stubborn stopped (killed)",
    ]);
  } finally {
    await sup.killAll();
    await Deno.remove(dir, { recursive: true });
  }
});
