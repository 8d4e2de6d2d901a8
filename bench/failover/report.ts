/** The markdown tables of the failover matrix: producer runs, then consumer runs. */
import type { ConsumerRunResult, ProducerRunResult, RunResult } from "./types.ts";

/** Milliseconds as seconds with one decimal; "never" for null (or missing). */
export function ms(v: number | null | undefined): string {
  return v === null || v === undefined ? "never" : (v / 1000).toFixed(1);
}

/** Partitions 0, 1 and 2 as `ms` values, "a / b / c". */
export function perPartition(r: Record<number, number | null>): string {
  return [0, 1, 2].map((p) => ms(r[p])).join(" / ");
}

/** The markdown tables of a matrix's results (producer runs, then consumer runs). */
export function markdownTable(results: readonly RunResult[]): string {
  const out: string[] = [];
  const producers = results.filter((r): r is ProducerRunResult => r.kind === "producer");
  const consumers = results.filter((r): r is ConsumerRunResult => r.kind === "consumer");
  if (producers.length) {
    out.push(
      "| Producer run | Generated | Acked | Failed (of them written) | Unsettled | In topic | Lost | Dup | Reordered | Recovery (s) | Stall of others (s) | Errors | Finished |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const r of producers) {
      out.push(
        `| ${r.scenario} (victim ${r.victim}${controllerNote(r)}, led ${
          r.affectedPartitions.join(",")
        }) | ${r.generated} | ${r.acked} | ${r.failed} (${r.failedButWritten}) | ${r.unsettled} | ${r.inTopic} | ${r.lost} | ${r.duplicated} | ${r.reordered} | ${
          ms(r.recoveryMs)
        } | ${ms(r.stallOfOthersMs)} | ${r.errors} | ${r.finished ? "yes" : "**wedged**"} |`,
      );
    }
  }
  if (consumers.length) {
    if (out.length) out.push("");
    out.push(
      "| Consumer run | In topic | Missing | Redelivered | Longest consume gap after fault p0/p1/p2 (s) | First post-fault record consumed p0/p1/p2 (s) | Append gap p0/p1/p2 (s) | Commit errors / deferred | Crashed / restarts | Caught up | Resume exact |",
      "|---|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const r of consumers) {
      out.push(
        `| ${r.scenario} (victim ${r.victim}${controllerNote(r)}, coordinator ${r.coordinator}, led ${
          r.victimLedPartitions.join(",")
        }) | ${r.inTopic} | ${r.missing} | ${r.redelivered} | ${perPartition(r.maxConsumeGapAfterFaultMs)} | ${
          perPartition(r.firstConsumedAfterFaultMs)
        } | ${perPartition(r.appendGapAfterFaultMs)} | ${r.commitErrors} / ${r.commitsDeferred} | ${
          r.crashed ? "yes" : "no"
        } / ${r.restarts} | ${r.caughtUp ? "yes" : "**no**"} | ${r.resumeExact ? "yes" : "**no**"} |`,
      );
    }
  }
  return out.join("\n");
}

/** ", the active controller" when the victim was the node of the active controller. */
function controllerNote(r: { victim: number; controller: number }): string {
  return r.victim === r.controller ? ", the active controller" : "";
}
