/**
 * `/websites` in a real browser (Debian chromium, headless, playwright-core):
 * the island hydrates, draws the response-time chart, and a new target, a
 * target going down and a new alert appear without reload.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { COLLECTIONS, createLogger, type WebsiteAlertDoc, type WebsiteMetricsDoc } from "@iot/shared";
import { useMongo } from "../../dev/testing.ts";
import { startWeb, type WebHandle } from "../../web/mod.ts";
import { alert, rolling, seed } from "./fixtures.ts";

const logger = createLogger({ name: "test", level: "warn" });
const opts = { sanitizeOps: false, sanitizeResources: false };
const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

Deno.test("the websites page in Chromium: cards, chart, live target and alert", opts, async () => {
  const mongo = await useMongo();
  let handle: WebHandle | undefined;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  try {
    const db = mongo.client.db(mongo.dbName);
    await seed(db);
    handle = await startWeb({
      mongoClient: mongo.client,
      dbName: mongo.dbName,
      host: "127.0.0.1",
      port: 0,
      kafka: false,
      logger,
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));

    await page.goto(`${handle.url}/websites`);
    await page.waitForSelector("html[data-islands-ready]", { timeout: 15_000 });
    await page.waitForSelector('[data-testid="live-status"][data-status="live"]', { timeout: 10_000 });
    assert.equal(await page.locator("[data-site]").count(), 2);
    const painted = await page.$eval("[data-testid=website-chart] canvas", (c) => {
      const canvas = c as HTMLCanvasElement;
      const img = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < img.length; i += 4) if (img[i] > 0) n++;
      return n;
    });
    assert.ok(painted > 1000, `chart drawn (${painted} pixels)`);

    // Live: a new target, the API target going down, and a new alert.
    const metrics = db.collection<WebsiteMetricsDoc>(COLLECTIONS.websiteMetrics);
    await metrics.insertOne(rolling("http://127.0.0.1:1/new", "New", true, Date.now()));
    await page.waitForSelector('[data-site="http://127.0.0.1:1/new"][data-up="true"]', { timeout: 10_000 });
    const down = rolling("http://127.0.0.1:1/api", "API", false, Date.now());
    await metrics.replaceOne({ _id: down._id }, down);
    await page.waitForSelector('[data-site="http://127.0.0.1:1/api"][data-up="false"]', { timeout: 10_000 });
    const a = { ...alert("http://127.0.0.1:1/api", "firing", Date.now()), name: "API", updated_at: new Date() };
    await db.collection<WebsiteAlertDoc>(COLLECTIONS.websiteAlerts).insertOne(a);
    await page.waitForSelector(`[data-alert="${a._id}"][data-state="firing"]`, { timeout: 10_000 });
    assert.deepEqual(problems, []);
    await Deno.mkdir(new URL("../../.test-results/", import.meta.url), { recursive: true });
    await page.screenshot({
      path: new URL("../../.test-results/websites.png", import.meta.url).pathname,
      fullPage: true,
    });
  } finally {
    await browser.close().catch(() => {});
    await handle?.stop();
    await mongo.close();
  }
});
