/** Where the dashboard's files are, and the client bundles built once per process (esbuild). */
import { buildClient } from "./islands_runtime/build.ts";
import type { ClientAssets } from "./islands_runtime/server.ts";

/** The `web/` folder. */
export const WEB_DIR: string = new URL(".", import.meta.url).pathname.replace(/\/$/, "");
const ROOT_DIR = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Static files served under `/static/`. */
export const STATIC_DIR: string = `${WEB_DIR}/static`;

/** Where the client bundles go (gitignored). */
export const BUILD_DIR: string = `${STATIC_DIR}/_build`;

let defaultAssets: Promise<ClientAssets> | undefined;

/** Builds the client bundles once per process (a failed build is tried again on the next call). */
export function defaultClientAssets(): Promise<ClientAssets> {
  defaultAssets ??= buildClient({
    islandsDir: `${WEB_DIR}/islands`,
    outDir: BUILD_DIR,
    publicPath: "/static/_build",
    root: ROOT_DIR,
  });
  defaultAssets.catch(() => defaultAssets = undefined);
  return defaultAssets;
}
