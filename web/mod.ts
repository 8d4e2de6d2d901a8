/**
 * The live web dashboard: Fresh-style islands on Deno with Hono, live over
 * WebSocket from MongoDB change streams (or polling where unsupported).
 * @module
 */
export { API_ROUTES, type AppOptions, createApp, type WebApp } from "./app.ts";
export { loadWebConfig, startWeb, type StartWebOptions, type WebConfig, type WebHandle } from "./server.ts";
export { DashboardData } from "./data.ts";
export { KafkaMonitor, type KafkaSnapshot } from "./kafka_monitor.ts";
export { LiveHub } from "./live/hub.ts";
export { sensorFeed } from "./live/sensor_feed.ts";
export { websiteFeed } from "./live/website_feed.ts";
export type * from "./lib/wire.ts";
