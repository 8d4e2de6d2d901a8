/**
 * Builds the browser bundles with esbuild: the boot module and one module per
 * island (shared code such as Preact and Chart.js split into common chunks),
 * content-hashed, into `web/static/_build/`. Built once per process.
 */
import * as esbuild from "esbuild";
import type { ClientAssets } from "./server.ts";
import { registerIsland } from "./server.ts";

/** Options of `buildClient`. */
export interface BuildClientOptions {
  /** Folder of the island modules (PascalCase `.tsx`, default export = component). */
  islandsDir: string;
  /** Output folder (served under `publicPath`). */
  outDir: string;
  /** URL prefix of `outDir`. */
  publicPath: string;
  /** Project root with `node_modules/`. */
  root: string;
  minify?: boolean;
}

/**
 * Workspace modules that browser code imports by name (esbuild does not read
 * Deno's workspace): `@iot/shared/<sub>` for the browser-safe exports of
 * `shared/deno.json` (e.g. `@iot/shared/retry`).
 */
function workspacePlugin(root: string): esbuild.Plugin {
  return {
    name: "iot-workspace",
    setup(build) {
      build.onResolve({ filter: /^@iot\/shared\/[a-z_]+$/ }, async (args) => {
        const config = JSON.parse(await Deno.readTextFile(`${root}/shared/deno.json`));
        const target = config.exports?.[`./${args.path.slice("@iot/shared/".length)}`];
        if (typeof target !== "string") return { errors: [{ text: `${args.path} is not an export of @iot/shared` }] };
        return { path: `${root}/shared/${target.replace(/^\.\//, "")}` };
      });
    },
  };
}

/** The island modules of a folder: name → absolute path. */
export async function findIslands(islandsDir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(islandsDir)) {
    const m = /^([A-Z][A-Za-z0-9]*)\.tsx$/.exec(e.name);
    if (e.isFile && m) out.set(m[1], `${islandsDir}/${e.name}`);
  }
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

/** Imports every island module of a folder and registers its default export as an island. */
export async function registerIslands(islandsDir: string): Promise<string[]> {
  const found = await findIslands(islandsDir);
  for (const [name, path] of found) {
    const mod = await import(`file://${path}`);
    if (typeof mod.default !== "function") throw new Error(`Island ${path} has no default export component`);
    registerIsland(name, mod.default);
  }
  return [...found.keys()];
}

/** Builds the client bundles and returns their URLs. */
export async function buildClient(options: BuildClientOptions): Promise<ClientAssets> {
  const islands = await findIslands(options.islandsDir);
  const boot = new URL("./boot.ts", import.meta.url).pathname;
  const entryPoints = [{ in: boot, out: "boot" }, ...[...islands].map(([name, path]) => ({ in: path, out: name }))];
  await Deno.mkdir(options.outDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints,
    absWorkingDir: options.root,
    outdir: options.outDir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    jsx: "automatic",
    jsxImportSource: "preact",
    minify: options.minify ?? true,
    sourcemap: false,
    entryNames: "[name]-[hash]",
    chunkNames: "chunk-[hash]",
    metafile: true,
    write: true,
    logLevel: "silent",
    define: { "process.env.NODE_ENV": '"production"' },
    plugins: [workspacePlugin(options.root)],
  });
  const assets: ClientAssets = { boot: "", islands: {} };
  for (const [file, info] of Object.entries(result.metafile.outputs)) {
    if (!info.entryPoint) continue;
    const url = `${options.publicPath}/${file.split("/").pop()}`;
    const entry = info.entryPoint;
    if (entry.endsWith("islands_runtime/boot.ts")) assets.boot = url;
    for (const [name, path] of islands) {
      if (path.endsWith(entry) || entry.endsWith(path.split("/").slice(-2).join("/"))) assets.islands[name] = url;
    }
  }
  if (!assets.boot) throw new Error("esbuild produced no boot module");
  return assets;
}

/** Stops esbuild's service process (call at shutdown). */
export async function stopBuilder(): Promise<void> {
  await esbuild.stop();
}
