/** Pipeline: producer and processor throughput, outcomes of consumed records, consumer lag per partition, dead letters. */
import type { VNode } from "preact";
import { Layout } from "../components/Layout.tsx";
import { parseParams } from "./params.ts";
import PipelineLive from "../islands/PipelineLive.tsx";
import type { RouteContext } from "./context.ts";
import { loadPipeline } from "./api/pipeline.ts";

/** The pipeline page. */
export default async function PipelinePage(ctx: RouteContext): Promise<VNode> {
  parseParams(ctx.query, {});
  const { stats, kafka, deadLetters: dlq } = await loadPipeline(ctx);
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
