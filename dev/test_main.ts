/**
 * `deno task test [deno test args]`: fetches jars if needed, starts one local
 * Kafka broker for the run (unless TEST_KAFKA_BROKERS is set), runs `deno test`
 * against it, stops it, and prints `N passed, N failed` from the JUnit report.
 */
import { runMain } from "@iot/shared";
import { ensureHelperClasses, ensureJars } from "./jars.ts";
import { LocalKafka } from "./kafka.ts";

/** Counts of a JUnit XML report. */
export interface JunitCounts {
  passed: number;
  failed: number;
  skipped: number;
}

/** Counts the test cases of a Deno JUnit report: failed if they hold a <failure> or <error>. */
export function countJunit(xml: string): JunitCounts {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  const re = /<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(re)) {
    const body = m[2] ?? "";
    if (/<(failure|error)\b/.test(body)) counts.failed++;
    else if (/<skipped\b/.test(body)) counts.skipped++;
    else counts.passed++;
  }
  return counts;
}

if (import.meta.main) {
  runMain(async () => {
    const root = new URL("../", import.meta.url).pathname;
    const started = performance.now();
    let kafka: LocalKafka | undefined;
    const env: Record<string, string> = {};
    if (!Deno.env.get("TEST_KAFKA_BROKERS")) {
      await Promise.all([ensureJars("kafka"), ensureJars("mongo"), ensureHelperClasses()]);
      kafka = new LocalKafka({ heap: "768m" });
      await kafka.start();
      env.TEST_KAFKA_BROKERS = kafka.brokers;
      console.error(
        `test: Kafka for this run at ${kafka.brokers} (ready in ${
          ((performance.now() - started) / 1000).toFixed(1)
        } s)`,
      );
    }
    const junit = `${root}.test-results/junit-${Deno.pid}.xml`;
    await Deno.mkdir(`${root}.test-results`, { recursive: true });
    await Deno.remove(junit).catch(() => {});
    const child = new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", `--junit-path=${junit}`, ...Deno.args],
      cwd: root,
      env,
      stdin: "null",
    }).spawn();
    const forward = (sig: Deno.Signal) => () => {
      try {
        child.kill(sig);
      } catch { /* gone */ }
    };
    Deno.addSignalListener("SIGINT", forward("SIGINT"));
    Deno.addSignalListener("SIGTERM", forward("SIGTERM"));
    // No run waits forever: past IOT_TEST_TIMEOUT_S (default an hour) the tests are stopped and the run fails.
    const limitS = Number(Deno.env.get("IOT_TEST_TIMEOUT_S") || 3600);
    let timedOut = false;
    const limit = setTimeout(() => {
      timedOut = true;
      console.error(`test: the run took longer than ${limitS} s; stopping it`);
      forward("SIGTERM")();
      setTimeout(forward("SIGKILL"), 10_000);
    }, limitS * 1000);
    let status: Deno.CommandStatus;
    try {
      status = await child.status;
    } finally {
      clearTimeout(limit);
      await kafka?.dispose();
    }
    let counts: JunitCounts = { passed: 0, failed: 0, skipped: 0 };
    try {
      counts = countJunit(await Deno.readTextFile(junit));
      await Deno.remove(junit);
    } catch {
      console.error("test: no JUnit report was written");
    }
    if ((!status.success || timedOut) && counts.failed === 0) counts.failed = 1; // e.g. a file failed to load
    const skipped = counts.skipped ? `, ${counts.skipped} skipped` : "";
    console.log(`${counts.passed} passed, ${counts.failed} failed${skipped}`);
    return status.success && !timedOut ? 0 : 1;
  });
}
