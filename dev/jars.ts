/**
 * Fetches the services' jars from Maven Central once (cached by version) and
 * compiles the small Java helpers in `dev/java/`.
 */
import { ServiceStartError } from "@iot/shared";
import { cacheDir, devFile, exists } from "./paths.ts";

/** Versions of the local services; the cache is keyed by them. */
export const VERSIONS = { kafka: "4.1.1", mongo: "1.47.0", jmx: "1.0.1" } as const;

/** A set of jars to put on a class path (`jmx`: the Prometheus JMX exporter java agent). */
export type JarSet = "kafka" | "mongo" | "jmx";

let compiled: Promise<string> | undefined;

async function run(cmd: string, args: string[], cwd?: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output()
    .catch((e) => {
      throw new ServiceStartError(`Cannot run ${cmd}: ${(e as Error).message}. Is it installed and on PATH?`);
    });
  if (!out.success) {
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    throw new ServiceStartError(`${cmd} ${args.join(" ")} failed:\n${text.split("\n").slice(-30).join("\n")}`);
  }
}

const jarsReady = new Map<JarSet, Promise<string>>();

/** Returns the directory holding the jars of a set, downloading them with Maven if missing. */
export function ensureJars(set: JarSet): Promise<string> {
  let p = jarsReady.get(set);
  if (!p) {
    p = fetchJars(set);
    jarsReady.set(set, p);
  }
  return p;
}

async function fetchJars(set: JarSet): Promise<string> {
  const dir = `${cacheDir()}/${set}-${VERSIONS[set]}`;
  const libs = `${dir}/libs`;
  if (await exists(`${dir}/.complete`)) return libs;
  await Deno.mkdir(dir, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir, prefix: "libs-" });
  await run("mvn", [
    "-B",
    "-q",
    "-f",
    devFile(`${set}/pom.xml`),
    "dependency:copy-dependencies",
    "-DincludeScope=runtime",
    `-DoutputDirectory=${tmp}`,
  ]);
  await Deno.remove(libs, { recursive: true }).catch(() => {});
  await Deno.rename(tmp, libs);
  await Deno.writeTextFile(`${dir}/.complete`, new Date().toISOString());
  return libs;
}

async function sourceHash(files: string[]): Promise<string> {
  const parts = await Promise.all(files.map((f) => Deno.readFile(f)));
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compiles `dev/java/*.java` against the MongoDB jars (once per source version) and returns the classes dir. */
export function ensureHelperClasses(): Promise<string> {
  compiled ??= (async () => {
    const sources = ["ParentWatch", "MongoLauncher", "StreamOplog", "CompactCollection", "BsonFilter", "BsonBytes"].map(
      (c) => devFile(`java/${c}.java`),
    );
    const libs = await ensureJars("mongo");
    const out = `${cacheDir()}/classes-${await sourceHash(sources)}`;
    if (await exists(`${out}/.complete`)) return out;
    const tmp = await Deno.makeTempDir({ dir: cacheDir(), prefix: "classes-tmp-" });
    await run("javac", ["-nowarn", "-d", tmp, "-cp", `${libs}/*`, ...sources]);
    await Deno.writeTextFile(`${tmp}/.complete`, "");
    await Deno.remove(out, { recursive: true }).catch(() => {});
    await Deno.rename(tmp, out).catch(async (e) => {
      // Another process compiled the same sources at the same time.
      if (!(await exists(`${out}/.complete`))) throw e;
    });
    return out;
  })();
  return compiled;
}
