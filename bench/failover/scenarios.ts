/** The scenarios of the failover matrix (`<producer|consumer>/<client>/<fault>`) and the `--scenarios` spec. */
import { UsageError } from "@iot/shared";

/** Every scenario, in the order they run. */
export const SCENARIOS: readonly string[] = [
  ...(["java", "native", "kafkajs", "platformatic"] as const).flatMap((c) =>
    (["leader-sigkill", "leader-sigterm"] as const).map((f) => `producer/${c}/${f}`)
  ),
  // The active controller's node: the stall is the broker's, the Java client beside ours shows it.
  "producer/java/controller-sigkill",
  "producer/native/controller-sigkill",
  ...(["kafkajs", "platformatic"] as const).flatMap((c) =>
    (["coordinator-sigkill", "leader-sigkill"] as const).map((f) => `consumer/${c}/${f}`)
  ),
];

/** Expands `--scenarios`: names or prefixes of names (`producer`, `consumer/kafkajs`), comma-separated. */
export function selectScenarios(spec: string): string[] {
  const wanted = spec.split(",").map((s) => s.trim()).filter(Boolean);
  if (wanted.length === 0) throw new UsageError("--scenarios is empty");
  const out: string[] = [];
  for (const w of wanted) {
    const hits = w === "all" ? [...SCENARIOS] : SCENARIOS.filter((s) => s === w || s.startsWith(`${w}/`));
    if (hits.length === 0) {
      throw new UsageError(`Unknown scenario "${w}"; one of all, producer, consumer, ${SCENARIOS.join(", ")}`);
    }
    for (const h of hits) if (!out.includes(h)) out.push(h);
  }
  return out;
}
