/**
 * `deno run --allow-env shared/secrets_main.ts NAME…`: exits 1 with one line
 * per variable that is empty or still an example password of `.env.example`,
 * 0 when all are usable. Compose runs it before the stack starts.
 */
import { secretProblems } from "./secrets.ts";

if (import.meta.main) {
  const problems = secretProblems(Deno.env.toObject(), Deno.args);
  for (const p of problems) console.error(`error: ${p}`);
  if (problems.length === 0) console.log(`Passwords set: ${Deno.args.join(", ")}`);
  Deno.exit(problems.length > 0 ? 1 : 0);
}
