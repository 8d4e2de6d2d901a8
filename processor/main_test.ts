import assert from "node:assert/strict";

async function run(...args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./main.ts", import.meta.url).pathname, ...args],
    env: { KAFKA_BROKERS: "127.0.0.1:1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr), stdout: new TextDecoder().decode(out.stdout) };
}

Deno.test("processor CLI rejects bad flags with exit code 2 and one line", async () => {
  const bad = await run("--metrics-port", "70000");
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
  assert.match(bad.stderr, /--metrics-port must be at most 65535/);
  const unknown = await run("--bogus");
  assert.equal(unknown.code, 2);
  const env = await run("--brokers", "not a broker");
  assert.equal(env.code, 2);
  assert.match(env.stderr, /KAFKA_BROKERS/);
  const help = await run("--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--consume-only/);
});
