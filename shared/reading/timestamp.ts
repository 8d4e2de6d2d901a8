/**
 * Event times of readings: RFC 3339 text with `Z` or a numeric offset and 0 to 9
 * fractional digits, or epoch milliseconds, normalized to UTC epoch milliseconds.
 */

/**
 * The accepted text form (also the `pattern` of the published JSON Schema):
 * `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`, upper-case `T` and `Z`, no leap second.
 */
export const TIMESTAMP_PATTERN =
  "^(\\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])T([01]\\d|2[0-3]):([0-5]\\d):([0-5]\\d)(?:\\.(\\d{1,9}))?" +
  "(Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)$";
const TIMESTAMP_RE = new RegExp(TIMESTAMP_PATTERN);

/** Smallest accepted epoch-milliseconds number (1973-03-03): smaller ones are taken for seconds and refused. */
export const MIN_EPOCH_MS = 100_000_000_000;
/** Largest accepted epoch-milliseconds number (the largest JavaScript date). */
export const MAX_EPOCH_MS = 8_640_000_000_000_000;

/** An event time in UTC epoch milliseconds, or why the value is not one (a sentence). */
export type EventTimeResult = { ok: true; ms: number } | { ok: false; detail: string };

const CANONICAL_RE = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether the day of a `YYYY-MM-DD…` string exists in its month (days up to 28 always do). */
function dayExists(s: string): boolean {
  const day = (s.charCodeAt(8) - 48) * 10 + s.charCodeAt(9) - 48;
  if (day <= 28) return true;
  const year = Number(s.slice(0, 4)), month = (s.charCodeAt(5) - 48) * 10 + s.charCodeAt(6) - 48;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS[month - 1]);
}

/**
 * Parses an event time: an RFC 3339 string (fraction truncated to the
 * millisecond) or an integer number of epoch milliseconds.
 *
 * @example
 * ```ts
 * parseEventTime("2026-12-01T18:07:04.037040+00:00"); // { ok: true, ms: 1796148424037 }
 * parseEventTime("2026-12-01T13:07:04-05:00");        // { ok: true, ms: 1796148424000 }
 * parseEventTime(1796148424037);                      // { ok: true, ms: 1796148424037 }
 * ```
 */
export function parseEventTime(value: unknown): EventTimeResult {
  // Fast path: the canonical UTC form with milliseconds (JavaScript's toISOString), which Date.parse reads exactly.
  if (typeof value === "string" && value.length === 24 && CANONICAL_RE.test(value) && dayExists(value)) {
    return { ok: true, ms: Date.parse(value) };
  }
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < MIN_EPOCH_MS || value > MAX_EPOCH_MS) {
      return {
        ok: false,
        detail: `Field timestamp as a number must be integer epoch milliseconds from ${MIN_EPOCH_MS}, got ${value}${
          Number.isFinite(value) && value > 0 && value < MIN_EPOCH_MS ? " (seconds?)" : ""
        }`,
      };
    }
    return { ok: true, ms: value };
  }
  if (typeof value !== "string") {
    return {
      ok: false,
      detail: `Field timestamp must be an RFC 3339 string or epoch milliseconds, got ${show(value)}`,
    };
  }
  const m = TIMESTAMP_RE.exec(value);
  if (!m) {
    return {
      ok: false,
      detail: `Field timestamp must be RFC 3339 like 2026-12-01T18:07:04.037+00:00 (Z or ±HH:MM), got ${show(value)}`,
    };
  }
  if (!dayExists(value)) {
    return { ok: false, detail: `Field timestamp is not a real date: ${show(value)}` };
  }
  const ms = m[7] === undefined ? "000" : (m[7] + "00").slice(0, 3);
  const utc = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${ms}Z`);
  const zone = m[8];
  const offset = zone === "Z"
    ? 0
    : (zone[0] === "-" ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  return { ok: true, ms: utc - offset };
}

/** A value, short, for a refusal's detail. */
export function show(v: unknown): string {
  let s: string;
  try {
    s = v === undefined ? "undefined" : JSON.stringify(v);
  } catch {
    s = String(v);
  }
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
