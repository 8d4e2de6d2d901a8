/**
 * `deno task kafka <tool> [args]`: runs Apache Kafka's own command-line tools
 * from the cached jars (no Kafka installation needed), e.g.
 *
 *   deno task kafka topics --bootstrap-server 127.0.0.1:9092 --describe --topic sensor-data
 *   deno task kafka consumer-groups --bootstrap-server 127.0.0.1:9092 --describe --group iot-processor
 *   deno task kafka console-consumer --bootstrap-server 127.0.0.1:9092 --topic sensor-alerts --from-beginning
 *   deno task kafka console-producer --bootstrap-server 127.0.0.1:9092 --topic sensor-data < readings.jsonl
 */
import { runMain, UsageError } from "@iot/shared";
import { ensureJars } from "./jars.ts";

/** Tool names and their main classes. */
export const KAFKA_TOOLS: Record<string, string> = {
  "topics": "org.apache.kafka.tools.TopicCommand",
  "consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
  "console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
  "console-producer": "org.apache.kafka.tools.ConsoleProducer",
  "get-offsets": "org.apache.kafka.tools.GetOffsetShell",
  "producer-perf-test": "org.apache.kafka.tools.ProducerPerformance",
  "consumer-perf-test": "org.apache.kafka.tools.ConsumerPerformance",
  "e2e-latency": "org.apache.kafka.tools.EndToEndLatency",
  "metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
};

if (import.meta.main) {
  runMain(async () => {
    const [tool, ...args] = Deno.args;
    if (!tool || tool === "--help" || tool === "-h") {
      console.log(`Usage: deno task kafka <tool> [args]\n\nTools: ${Object.keys(KAFKA_TOOLS).join(", ")}`);
      return 0;
    }
    const main = KAFKA_TOOLS[tool];
    if (!main) throw new UsageError(`Unknown Kafka tool "${tool}"; one of ${Object.keys(KAFKA_TOOLS).join(", ")}`);
    const libs = await ensureJars("kafka");
    const log4j = `${libs}/../log4j2-tools.properties`;
    await Deno.writeTextFile(
      log4j,
      "status = error\nappender.e.type = Console\nappender.e.name = E\nappender.e.target = SYSTEM_ERR\n" +
        "appender.e.layout.type = PatternLayout\nappender.e.layout.pattern = %p %m%n\n" +
        "rootLogger.level = WARN\nrootLogger.appenderRef.e.ref = E\n",
    );
    const child = new Deno.Command("java", {
      args: ["-Xmx512m", `-Dlog4j2.configurationFile=${log4j}`, "-cp", `${libs}/*`, main, ...args],
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    Deno.addSignalListener("SIGINT", () => child.kill("SIGINT"));
    return (await child.status).code;
  });
}
