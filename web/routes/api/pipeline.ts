/** `GET /api/pipeline`: heartbeats, Kafka throughput and lag, dead letters; the pipeline page loads the same. */
import type { KafkaSnapshot } from "../../kafka_monitor.ts";
import type { WireDeadLetter, WireStats } from "../../lib/wire.ts";
import type { ApiHandler, RouteContext } from "../context.ts";
import { parseParams } from "../params.ts";

/** What the pipeline page and API show. */
export interface PipelineView {
  stats: WireStats[];
  kafka: KafkaSnapshot;
  deadLetters: { count: number; latest: WireDeadLetter[] };
}

/** Loads every heartbeat, the Kafka snapshot and the latest 20 dead letters. */
export async function loadPipeline(ctx: RouteContext): Promise<PipelineView> {
  const [stats, kafka, deadLetters] = await Promise.all([
    ctx.data.stats(true),
    ctx.kafka.snapshot(),
    ctx.data.deadLetters(20),
  ]);
  return { stats, kafka, deadLetters };
}

/** The pipeline. */
export const GET: ApiHandler = async (ctx) => {
  parseParams(ctx.query, {});
  return { ...(await loadPipeline(ctx)), live: ctx.live.modes, now: Date.now() };
};
