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

/**
 * An event time in UTC epoch milliseconds, with the digits it was sent with
 * below the millisecond (`sub`, trailing zeros dropped, absent when none), or
 * why the value is not one (a sentence).
 */
export type EventTimeResult = { ok: true; ms: number; sub?: string } | { ok: false; detail: string };

const CANONICAL_RE =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}(?:\d{3}){0,2}Z$/;

/** The fraction digits below the millisecond, without trailing zeros; undefined when none are left. */
function subMillis(digits: string | undefined): string | undefined {
  if (!digits || digits.length <= 3) return undefined;
  const sub = digits.slice(3).replace(/0+$/, "");
  return sub === "" ? undefined : sub;
}
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
 * Parses an event time: an RFC 3339 string (`ms` truncated to the
 * millisecond, the finer digits in `sub`) or an integer number of epoch
 * milliseconds.
 *
 * @example
 * ```ts
 * parseEventTime("2026-12-01T18:07:04.037040+00:00"); // { ok: true, ms: 1796148424037, sub: "04" }
 * parseEventTime("2026-12-01T13:07:04-05:00");        // { ok: true, ms: 1796148424000 }
 * parseEventTime(1796148424037);                      // { ok: true, ms: 1796148424037 }
 * ```
 */
export function parseEventTime(value: unknown): EventTimeResult {
  // Fast path: the canonical UTC form with 3, 6 or 9 fraction digits (JavaScript's toISOString has 3).
  if (
    typeof value === "string" && (value.length === 24 || value.length === 27 || value.length === 30) &&
    CANONICAL_RE.test(value) && dayExists(value)
  ) {
    if (value.length === 24) return { ok: true, ms: Date.parse(value) };
    const sub = subMillis(value.slice(20, -1));
    const ms = Date.parse(`${value.slice(0, 23)}Z`);
    return sub === undefined ? { ok: true, ms } : { ok: true, ms, sub };
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
  const sub = subMillis(m[7]);
  return sub === undefined ? { ok: true, ms: utc - offset } : { ok: true, ms: utc - offset, sub };
}

/**
 * The canonical UTC text of an event time: `toISOString` with the digits below
 * the millisecond appended (3 or 6 more), so that it parses back to the same
 * `ms` and `sub`.
 */
export function formatEventTime(ms: number, sub?: string): string {
  const iso = new Date(ms).toISOString();
  if (!sub) return iso;
  return `${iso.slice(0, 23)}${sub.padEnd(sub.length <= 3 ? 3 : 6, "0")}Z`;
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
