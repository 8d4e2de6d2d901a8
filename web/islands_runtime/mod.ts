/**
 * The islands layer: server markers and props, client boot, esbuild bundles.
 * @module
 */
export * from "./serialize.ts";
export * from "./server.ts";
export * from "./build.ts";
