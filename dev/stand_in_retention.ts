/**
 * Retention for the in-memory MongoDB stand-in. mongo-java-server keeps every
 * document in its JVM heap and its TTL indexes are inert, so long runs
 * (`deno task up`, `deno task services`) delete old documents themselves:
 * by age, and by count, so that a high rate cannot outgrow the heap before
 * the age limit is reached (5,000 msg/s fill a 3 GB heap with raw readings in
 * about five minutes, long before 15 minutes of retention).
 *
 * The count bound needs no sort at every round (the stand-in has no range
 * indexes, so a sort reads the whole collection): arrivals are taken as spread
 * evenly between the oldest kept time and now, and the cutoff moves forward by
 * the share of documents to drop. The oldest time is read once, the first time
 * a collection is over its bound, and is the last cutoff after that; the next
 * round corrects any error. Pure policy (`nextCutoff`) apart from the I/O loop.
 * @module
 */
import type { MongoClient } from "mongodb";

/** One collection's bounds. */
export interface RetentionRule {
  /** Collection name, in every database but `admin`, `local` and `config`. */
  collection: string;
  /** Date field the age is measured on. */
  field: string;
  /** Documents older than this are deleted, seconds. */
  maxAgeSeconds: number;
  /** At most this many documents are kept (the oldest go first). */
  maxDocs: number;
}

/** The state of one collection between rounds. */
export interface CutoffInput {
  /** Now, epoch ms. */
  now: number;
  /** The rule. */
  rule: RetentionRule;
  /** Documents in the collection after the age deletion. */
  count: number;
  /** Oldest time still kept, epoch ms (the last cutoff, or the oldest document's time). */
  oldestKept: number;
}

/**
 * The cutoff (epoch ms) under which documents are deleted: the age limit, or
 * later when the count is above `maxDocs`, by the share of documents above
 * 90 % of the bound (so that the next rounds do not delete at every round).
 */
export function nextCutoff(input: CutoffInput): number {
  const { now, rule, count } = input;
  const byAge = now - rule.maxAgeSeconds * 1000;
  if (count <= rule.maxDocs) return byAge;
  const oldest = Math.max(input.oldestKept, byAge);
  const drop = (count - rule.maxDocs * 0.9) / count;
  return Math.max(byAge, Math.round(oldest + (now - oldest) * drop));
}

/** Options of `StandInRetention`. */
export interface StandInRetentionOptions {
  client: MongoClient;
  rules: readonly RetentionRule[];
  /** Round interval, ms. Default 10 000. */
  intervalMs?: number;
  /** Clock, epoch ms. */
  now?: () => number;
  /** Told once per collection when the count bound first cuts below the age limit. */
  log?: (message: string) => void;
}

/** Deletes what the rules no longer keep, one round every `intervalMs`. */
export class StandInRetention {
  readonly #o: StandInRetentionOptions;
  readonly #now: () => number;
  /** Per `database.collection`: the oldest time kept (the last count cutoff). */
  readonly #oldest = new Map<string, number>();
  readonly #warned = new Set<string>();
  #timer?: ReturnType<typeof setInterval>;
  #running?: Promise<void>;

  constructor(options: StandInRetentionOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Starts the rounds. */
  start(): void {
    this.#timer = setInterval(() => {
      if (this.#running) return;
      this.#running = this.round().catch(() => {/* server stopping or busy: next round */}).finally(() => {
        this.#running = undefined;
      });
    }, this.#o.intervalMs ?? 10_000);
  }

  /** One round over every database; resolves when done. */
  async round(): Promise<void> {
    const { client, rules } = this.#o;
    const { databases } = await client.db("admin").admin().listDatabases({ nameOnly: true });
    for (const { name } of databases) {
      if (name === "local" || name === "admin" || name === "config") continue;
      for (const rule of rules) {
        const col = client.db(name).collection(rule.collection);
        const now = this.#now();
        await col.deleteMany({ [rule.field]: { $lt: new Date(now - rule.maxAgeSeconds * 1000) } });
        const count = await col.estimatedDocumentCount();
        if (count <= rule.maxDocs) continue;
        const key = `${name}.${rule.collection}`;
        let oldest = this.#oldest.get(key);
        if (oldest === undefined) {
          const first = await col.findOne({}, { sort: { [rule.field]: 1 }, projection: { [rule.field]: 1 } });
          const t = first?.[rule.field];
          oldest = t instanceof Date ? t.getTime() : now - rule.maxAgeSeconds * 1000;
        }
        const cutoff = nextCutoff({ now, rule, count, oldestKept: oldest });
        if (!this.#warned.has(key)) {
          this.#warned.add(key);
          this.#o.log?.(
            `${key} holds ${count} documents, more than the stand-in keeps (${rule.maxDocs}): ` +
              `keeping only the last ${Math.round((now - cutoff) / 1000)} s of them`,
          );
        }
        await col.deleteMany({ [rule.field]: { $lt: new Date(cutoff) } });
        this.#oldest.set(key, cutoff);
      }
    }
  }

  /** Stops the rounds and waits for the one under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
