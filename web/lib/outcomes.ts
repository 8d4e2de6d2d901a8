/**
 * The outcome counts of a processor heartbeat: every consumed record ends in
 * one counted outcome (`outcome_<name>` fields of `pipeline_stats.totals`),
 * dead letters also by reason (`dead_lettered_<reason>`), and the `seq`
 * events (`seq_<kind>`). Pure, shared by the server and the browser.
 */

/** Outcomes in the order the Pipeline page shows them (others found in the data follow). */
export const OUTCOMES = [
  "stored",
  "replay",
  "duplicate",
  "dead_lettered",
  "late",
  "abandoned",
  "consume_only",
] as const;

/** A processor's outcome counts, read from its heartbeat totals. */
export interface OutcomeView {
  consumed: number;
  /** Every outcome of `OUTCOMES` (0 when absent), then any other `outcome_*` field. */
  outcomes: { name: string; count: number }[];
  /** Dead-lettered records by reason, most first. */
  deadLetteredByReason: { reason: string; count: number }[];
  /** Sum of the outcomes. */
  sum: number;
  /** Consumed records whose writes had not settled at the heartbeat (consumed − sum). */
  pending: number;
  /** `seq` events: gap, missing, reorder, repeat, restart (absent ones omitted). */
  seq: Record<string, number>;
}

/**
 * Reads the outcome counts of a processor's heartbeat totals.
 *
 * @example
 * ```ts
 * outcomeView({ consumed: 10, outcome_stored: 9, outcome_dead_lettered: 1, dead_lettered_invalid_json: 1 }).sum; // 10
 * ```
 */
export function outcomeView(totals: Record<string, number>): OutcomeView {
  const found = new Map<string, number>();
  const byReason: { reason: string; count: number }[] = [];
  const seq: Record<string, number> = {};
  for (const [k, v] of Object.entries(totals)) {
    if (typeof v !== "number") continue;
    if (k.startsWith("outcome_")) found.set(k.slice("outcome_".length), v);
    else if (k.startsWith("dead_lettered_")) byReason.push({ reason: k.slice("dead_lettered_".length), count: v });
    else if (k.startsWith("seq_")) seq[k.slice("seq_".length)] = v;
  }
  const names = [...OUTCOMES, ...[...found.keys()].filter((n) => !(OUTCOMES as readonly string[]).includes(n)).sort()];
  const outcomes = names.map((name) => ({ name, count: found.get(name) ?? 0 }));
  const sum = outcomes.reduce((s, o) => s + o.count, 0);
  const consumed = totals.consumed ?? 0;
  byReason.sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  return { consumed, outcomes, deadLetteredByReason: byReason, sum, pending: consumed - sum, seq };
}

const PREFIXES = ["outcome_", "dead_lettered_", "seq_"];

/** Whether a totals field belongs to the outcome table (`outcome_*`, `dead_lettered_*`, `seq_*`). */
export function isOutcomeField(name: string): boolean {
  return PREFIXES.some((p) => name.startsWith(p));
}

/** Whether a heartbeat carries outcome counts (processors since issue 13). */
export function hasOutcomes(totals: Record<string, number>): boolean {
  return Object.keys(totals).some((k) => k.startsWith("outcome_"));
}
