/**
 * `GET /api/silences`: the silences in effect (or all, newest first).
 * `POST /api/silences`: creates one, by sensor, location, type or rule, with
 * an expiry and a reason (behind the write token). A silenced incident is
 * still recorded, but not announced, until the silence expires or is deleted.
 */
import { isVocabularyName, type SilenceMatchers } from "@iot/shared";
import type { ApiHandler } from "../context.ts";
import { INCIDENT_RULES, ParamError, parseParams, SENSOR_ID_RE } from "../params.ts";

/** Query parameters of the GET. */
export const PARAMS = {
  all: { type: "bool" },
} as const;

/** The longest silence accepted. */
export const MAX_SILENCE_MS = 30 * 86_400_000;

/** The silences. */
export const GET: ApiHandler = async (ctx) => {
  const p = parseParams(ctx.query, PARAMS);
  return { silences: await ctx.data.silences(new Date(), p.all === true), now: Date.now() };
};

/** Validates a new silence: `{ sensor_id?, location?, sensor_type?, rule?, url?, reason, duration_s | expires_at }`. */
export function parseSilence(
  body: unknown,
  now: number,
): { matchers: SilenceMatchers; reason: string; expiresAt: Date } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ParamError("The body must be a JSON object");
  }
  const b = body as Record<string, unknown>;
  const known = new Set(["sensor_id", "location", "sensor_type", "rule", "url", "reason", "duration_s", "expires_at"]);
  for (const k of Object.keys(b)) if (!known.has(k)) throw new ParamError(`Unknown field ${k}`);
  const matchers: SilenceMatchers = {};
  const str = (k: string) => {
    const v = b[k];
    if (v === undefined || v === "") return undefined;
    if (typeof v !== "string") throw new ParamError(`Field ${k} must be a string`);
    return v;
  };
  const sensor = str("sensor_id");
  if (sensor !== undefined) {
    if (!SENSOR_ID_RE.test(sensor)) throw new ParamError("Field sensor_id must be a sensor id like sensor_0001");
    matchers.sensor_id = sensor;
  }
  for (const k of ["location", "sensor_type"] as const) {
    const v = str(k);
    if (v === undefined) continue;
    if (!isVocabularyName(v)) {
      throw new ParamError(`Field ${k} must be a name of 1 to 64 letters, digits, spaces or _.:-`);
    }
    matchers[k] = v;
  }
  const rule = str("rule");
  if (rule !== undefined) {
    if (!(INCIDENT_RULES as readonly string[]).includes(rule)) {
      throw new ParamError(`Field rule must be one of ${INCIDENT_RULES.join(", ")}`);
    }
    matchers.rule = rule;
  }
  const url = str("url");
  if (url !== undefined) {
    if (url.length > 2000 || !/^https?:\/\//.test(url)) throw new ParamError("Field url must be an http(s) URL");
    matchers.url = url;
  }
  if (Object.keys(matchers).length === 0) {
    throw new ParamError("A silence needs at least one of sensor_id, location, sensor_type, rule, url");
  }
  const reason = str("reason")?.trim();
  if (!reason || reason.length > 500) throw new ParamError("Field reason must be 1 to 500 characters");
  let expires: number;
  if (b.duration_s !== undefined) {
    const d = b.duration_s;
    if (typeof d !== "number" || !Number.isFinite(d) || d <= 0) {
      throw new ParamError("Field duration_s must be a positive number of seconds");
    }
    expires = now + d * 1000;
  } else if (typeof b.expires_at === "string" || typeof b.expires_at === "number") {
    expires = typeof b.expires_at === "number" ? b.expires_at : Date.parse(b.expires_at);
    if (!Number.isFinite(expires) || expires <= now) throw new ParamError("Field expires_at must be a future time");
  } else {
    throw new ParamError("A silence needs duration_s or expires_at");
  }
  if (expires - now > MAX_SILENCE_MS) throw new ParamError("A silence may last at most 30 days");
  return { matchers, reason, expiresAt: new Date(expires) };
}

/** Creates a silence. */
export const POST: ApiHandler = async (ctx) => {
  parseParams(ctx.query, {});
  const input = parseSilence(await ctx.json(), Date.now());
  const silence = await ctx.data.createSilence({ ...input, by: "dashboard" });
  ctx.logger.info("silence created", { id: silence.id, matchers: silence.matchers, until: silence.expires_at });
  return { silence };
};
