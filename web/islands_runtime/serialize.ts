/**
 * Island props serialisation, shared by the server (writes) and the browser (reads).
 * JSON with tags for what JSON lacks: signals, dates, `undefined` and non-finite numbers.
 * The output is safe inside `<script type="application/json">`: `<`, `>`, `&` and the
 * JavaScript line separators are written as `\u` escapes.
 */
import { type Signal, signal } from "@preact/signals";

/** A prop value that cannot be sent to the browser (function, element, symbol, class instance). */
export class IslandPropsError extends Error {
  override name = "IslandPropsError";
}

const TAG = "$t";

function isSignal(v: unknown): v is Signal<unknown> {
  return typeof v === "object" && v !== null && "brand" in v &&
    (v as { brand: unknown }).brand === Symbol.for("preact-signals");
}

function encode(value: unknown, path: string, seen: Set<object>): unknown {
  if (value === undefined) return { [TAG]: "u" };
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (Number.isFinite(value)) return value;
    return { [TAG]: "n", v: String(value) };
  }
  if (typeof value !== "object") {
    throw new IslandPropsError(`Island prop ${path} is a ${typeof value} and cannot be serialised`);
  }
  if (seen.has(value)) throw new IslandPropsError(`Island prop ${path} is circular`);
  if (isSignal(value)) {
    seen.add(value);
    const out = { [TAG]: "s", v: encode(value.peek(), `${path}.value`, seen) };
    seen.delete(value);
    return out;
  }
  if (value instanceof Date) return { [TAG]: "d", v: value.toISOString() };
  if ("$$typeof" in value || ("type" in value && "props" in value && "__k" in value)) {
    throw new IslandPropsError(`Island prop ${path} is a JSX element; islands take plain data`);
  }
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v, i) => encode(v, `${path}[${i}]`, seen));
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new IslandPropsError(`Island prop ${path} is a class instance; islands take plain data`);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = encode(v, `${path}.${k}`, seen);
    // A user object that happens to have the tag key is wrapped so that it decodes as itself.
    return TAG in out ? { [TAG]: "o", v: out } : out;
  } finally {
    seen.delete(value);
  }
}

function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (typeof value !== "object" || value === null) return value;
  const obj = value as Record<string, unknown>;
  if (TAG in obj) {
    switch (obj[TAG]) {
      case "u":
        return undefined;
      case "n":
        return Number(obj.v);
      case "s":
        return signal(decode(obj.v));
      case "d":
        return new Date(String(obj.v));
      case "o": {
        const inner = obj.v as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(inner)) out[k] = decode(v);
        return out;
      }
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = decode(v);
  return out;
}

/** Escapes JSON text for an HTML `<script>` element. */
export function escapeJsonForHtml(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Serialises island props to HTML-safe JSON text. Throws `IslandPropsError` on values that cannot travel. */
export function serializeProps(value: unknown): string {
  return escapeJsonForHtml(JSON.stringify(encode(value, "props", new Set())));
}

/** Parses what `serializeProps` wrote, turning tagged values back into signals, dates and so on. */
export function deserializeProps<T = unknown>(text: string): T {
  return decode(JSON.parse(text)) as T;
}
