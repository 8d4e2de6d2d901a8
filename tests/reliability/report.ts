/**
 * Turns the output of a reliability run into the "Latest run" table of
 * `docs/reliability.md`:
 *
 * ```sh
 * deno task test tests/reliability/ 2>&1 | tee /tmp/reliability.log
 * deno run tests/reliability/report.ts < /tmp/reliability.log
 * ```
 */

/** One scenario's summary line as printed by `summary()`. */
export interface SummaryLine {
  reliability: string;
  [key: string]: unknown;
}

/** Picks the summary lines (`{"reliability":...}`) out of a run's output; the last one per scenario wins. */
export function summaryLines(text: string): SummaryLine[] {
  const byName = new Map<string, SummaryLine>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line.startsWith('{"reliability":')) continue;
    try {
      const s = JSON.parse(line) as SummaryLine;
      byName.set(s.reliability, s);
    } catch { /* a cut line */ }
  }
  return [...byName.values()].sort((a, b) => a.reliability.localeCompare(b.reliability, "en", { numeric: true }));
}

function faults(s: SummaryLine): string {
  const f = s.faults as Record<string, unknown> | undefined;
  return f ? Object.entries(f).map(([k, v]) => `${k} ${v}`).join(", ") : "";
}

function num(v: unknown): string {
  return typeof v === "number" ? String(v) : "–";
}

/** The markdown table of a run. */
export function markdownTable(lines: SummaryLine[]): string {
  const rows = [
    "| Scenario | Records | Faults injected | Stored / expected | Lost | Duplicated | Windows (wrong) | Alerts (duplicated) | Dead letters |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const s of lines) {
    const stored = s.expected !== undefined ? `${num(s.stored)} / ${num(s.expected)}` : "–";
    const lost = s.missing ?? s.lost;
    const windows = s.windows !== undefined ? `${num(s.windows)} (${num(s.windowMismatches)})` : "–";
    const alerts = s.alerts !== undefined ? `${num(s.alerts)} (${num(s.duplicatedAlerts)})` : "–";
    const dead = s.deadLetters !== undefined ? `${num(s.deadLetters)} ${JSON.stringify(s.byReason ?? {})}` : "–";
    rows.push(
      `| ${s.reliability} | ${num(s.records ?? s.requests)} | ${faults(s)} | ${stored} | ${num(lost)} | ${
        num(s.duplicated)
      } | ${windows} | ${alerts} | ${dead} |`,
    );
  }
  return rows.join("\n");
}

if (import.meta.main) {
  const text = await new Response(Deno.stdin.readable).text();
  const lines = summaryLines(text);
  console.log(markdownTable(lines));
  console.log("\nRaw summary lines:\n\n```json");
  for (const s of lines) console.log(JSON.stringify(s));
  console.log("```");
}
