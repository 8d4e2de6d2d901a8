/**
 * The example-password guard: the stack refuses to start with the placeholder
 * passwords of `.env.example` (`change-me…`) or with empty ones, with a
 * one-line reason naming the variable. The programs check the credentials
 * they are given (`loadCommonConfig`); compose runs `secrets_main.ts` on the
 * variables of the containers that are not ours (MongoDB's root user, Grafana,
 * mongo-express) before any of them starts.
 */
import { ConfigError } from "./errors.ts";

/** How the placeholders of `.env.example` look (`change-me`, `change-me-root`, `changeme`, …). */
export const EXAMPLE_SECRET: RegExp = /^change-?me/i;

/** Why `value` of variable `name` cannot be used as a password, or undefined when it can. */
export function secretProblem(name: string, value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === "") return `${name} is empty: set a password in .env`;
  if (EXAMPLE_SECRET.test(value)) {
    return `${name} is still the example value from .env.example ("${value}"): set a real password in .env`;
  }
  return undefined;
}

/** The problems of the named variables in `env` (empty: all of them are usable). */
export function secretProblems(env: Record<string, string | undefined>, names: readonly string[]): string[] {
  return names.map((n) => secretProblem(n, env[n])).filter((p): p is string => p !== undefined);
}

/**
 * Throws `ConfigError` when an optional password is set to an example value
 * (an empty optional password means none is used). A password inside a
 * connection string (`mongodb://user:change-me@host`) is checked as well.
 *
 * @example
 * ```ts
 * refuseExampleSecret("MONGO_PASSWORD", Deno.env.get("MONGO_PASSWORD"));
 * ```
 */
export function refuseExampleSecret(name: string, value: string | undefined): void {
  if (value === undefined || value.trim() === "") return;
  const inUrl = /^[a-z+]+:\/\/[^:@/]+:([^@/]*)@/i.exec(value)?.[1];
  if (inUrl === undefined) {
    const problem = secretProblem(name, value);
    if (problem) throw new ConfigError(problem);
  } else if (EXAMPLE_SECRET.test(decodeURIComponent(inUrl))) {
    throw new ConfigError(`${name} holds the example password of .env.example: set a real password`);
  }
}
