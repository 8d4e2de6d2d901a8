/** Pipeline: producer and processor throughput, consumer lag per partition, dead letters. */
import type { VNode } from "preact";
import { Layout } from "../components/Layout.tsx";
import { parseParams } from "../api/params.ts";
import PipelineLive from "../islands/PipelineLive.tsx";
import type { RouteContext } from "./context.ts";

/** The pipeline page. */
export default async function PipelinePage(ctx: RouteContext): Promise<VNode> {
  parseParams(ctx.query, {});
  const [stats, kafka, dlq] = await Promise.all([
    ctx.data.stats(true),
    ctx.kafka.snapshot(),
    ctx.data.deadLetters(20),
  ]);
  return (
    <Layout title="Pipeline" path="/pipeline">
      <h1>Pipeline</h1>
      <PipelineLive
        stats={stats}
        kafka={kafka}
        deadLetterCount={dlq.count}
        deadLetters={dlq.latest}
        now={Date.now()}
      />
    </Layout>
  );
}
