/**
 * The processor's counters: running totals, consumed records by outcome, and
 * dead letters by reason, kept for `stats()` and the heartbeat and mirrored
 * into the Prometheus metrics. Every consumed record ends in exactly one
 * outcome, counted once its writes settled (`settled`, or `count("abandoned")`).
 */
import { COLLECTIONS } from "@iot/shared";
import type { ProcessorStats } from "./handle.ts";
import type { ProcessorMetrics } from "./metrics.ts";
import type { RawWriteResult } from "./sinks/raw.ts";
import type { DecodedBatch } from "./stages/decode.ts";
import { SEQ_EVENT_KINDS, type SeqCounts } from "./stages/sequence.ts";

/** Running totals of one instance (the heartbeat document's `totals`). */
export interface Totals {
  consumed: number;
  stored: number;
  invalid: number;
  late: number;
  checked: number;
  dead_letters: number;
  windows_written: number;
  alerts_new: number;
  alerts_resolved: number;
  mongo_retries: number;
}

/**
 * Counts what the processor did.
 *
 * @example
 * ```ts
 * const counters = new Counters(createProcessorMetrics());
 * counters.decoded(batch.messages.length, decoded);
 * counters.settled(decoded, rawResult); // stored / replay / duplicate / late / dead_lettered
 * counters.outcomes; // { stored: 98, dead_lettered: 2 }
 * ```
 */
export class Counters {
  readonly totals: Totals = {
    consumed: 0,
    stored: 0,
    invalid: 0,
    late: 0,
    checked: 0,
    dead_letters: 0,
    windows_written: 0,
    alerts_new: 0,
    alerts_resolved: 0,
    mongo_retries: 0,
  };
  readonly #outcomes: Record<string, number> = {};
  readonly #deadByReason: Record<string, number> = {};

  constructor(readonly metrics: ProcessorMetrics) {}

  /** Consumed records by outcome (a copy). */
  get outcomes(): Record<string, number> {
    return { ...this.#outcomes };
  }

  /** Dead-lettered records by reason (a copy). */
  get deadLetteredByReason(): Record<string, number> {
    return { ...this.#deadByReason };
  }

  /** A fetched batch of `n` records, decoded. */
  decoded(n: number, d: Pick<DecodedBatch, "rejected" | "invalid" | "late">): void {
    for (const r of d.rejected) if (r.reason !== "late") this.metrics.invalid.inc(1, { reason: r.reason });
    this.totals.invalid += d.invalid;
    this.metrics.late.inc(d.late);
    this.totals.late += d.late;
    this.metrics.consumed.inc(n);
    this.totals.consumed += n;
  }

  /** `n` records ended in `outcome` (dead letters: with their `reason`). */
  count(outcome: string, n: number, reason?: string): void {
    if (n === 0) return;
    this.metrics.records.inc(n, reason ? { outcome, reason } : { outcome });
    this.#outcomes[outcome] = (this.#outcomes[outcome] ?? 0) + n;
    if (reason) this.#deadByReason[reason] = (this.#deadByReason[reason] ?? 0) + n;
  }

  /** The sequence events of a batch. */
  seq(c: SeqCounts): void {
    for (const kind of SEQ_EVENT_KINDS) if (c[kind]) this.metrics.seqEvents.inc(c[kind], { kind });
    if (c.missing) this.metrics.seqMissing.inc(c.missing);
  }

  /** The outcomes of a batch whose writes settled: dead-lettered, late, stored, replay, duplicate. */
  settled(d: Pick<DecodedBatch, "rejected" | "valid" | "late">, raw: Pick<RawWriteResult, "stored">): void {
    const byReason = new Map<string, number>();
    for (const r of d.rejected) if (r.reason !== "late") byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
    for (const [reason, n] of byReason) this.count("dead_lettered", n, reason);
    let stored = 0, replay = 0, duplicate = 0;
    d.valid.forEach((v, i) => {
      if (v.late) return;
      if (raw.stored[i]) stored++;
      else if (v.replay) replay++;
      else duplicate++;
    });
    this.count("late", d.late);
    this.count("stored", stored);
    this.count("replay", replay);
    this.count("duplicate", duplicate);
  }

  /** Raw readings inserted. */
  stored(n: number): void {
    this.metrics.written.inc(n, { collection: COLLECTIONS.readings });
    this.totals.stored += n;
  }

  /** Dead letters written: `truncated` of them cut to fit, `mongoOnly` not published. */
  deadLettered(n: number, truncated: number, mongoOnly: number): void {
    this.metrics.dlq.inc(n);
    this.metrics.dlqTruncated.inc(truncated);
    this.metrics.dlqMongoOnly.inc(mongoOnly);
    this.totals.dead_letters += n;
  }

  /** The counters' part of `ProcessorStats`. */
  stats(): Pick<
    ProcessorStats,
    | "consumed"
    | "stored"
    | "invalid"
    | "late"
    | "checked"
    | "deadLetters"
    | "windowsWritten"
    | "alertsNew"
    | "alertsResolved"
    | "mongoRetries"
    | "outcomes"
    | "deadLetteredByReason"
  > {
    const t = this.totals;
    return {
      consumed: t.consumed,
      stored: t.stored,
      invalid: t.invalid,
      late: t.late,
      checked: t.checked,
      deadLetters: t.dead_letters,
      windowsWritten: t.windows_written,
      alertsNew: t.alerts_new,
      alertsResolved: t.alerts_resolved,
      mongoRetries: t.mongo_retries,
      outcomes: this.outcomes,
      deadLetteredByReason: this.deadLetteredByReason,
    };
  }

  /** The heartbeat document's totals: the running totals, outcomes, dead letters by reason and sequence events. */
  heartbeatTotals(extra: Record<string, number>, seq: SeqCounts): Record<string, number> {
    return {
      ...this.totals,
      ...extra,
      ...Object.fromEntries(Object.entries(this.#outcomes).map(([k, v]) => [`outcome_${k}`, v])),
      ...Object.fromEntries(Object.entries(this.#deadByReason).map(([k, v]) => [`dead_lettered_${k}`, v])),
      ...Object.fromEntries(Object.entries(seq).map(([k, v]) => [`seq_${k}`, v])),
    };
  }
}
