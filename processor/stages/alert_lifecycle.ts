/**
 * The one incident engine of the processor, generic over the subject (a
 * sensor, a website). Findings of the rules are evaluated per subject; a rule
 * fires once its condition persisted (its "for": N of the last M evaluations,
 * or a duration), and one open incident per subject groups every rule that
 * fired (counts, first/last seen, worst severity). A fired rule goes inactive
 * once it stayed clear for its hold ("clear"); the incident resolves when no
 * rule is active. Silences are matched when an incident is written: a silenced
 * incident is recorded but not announced. Produces the document writes and the
 * announcements (opened / updated / resolved); does no I/O, and takes a clock.
 * The sensor incidents (`alerts.ts`) and the website incidents
 * (`websites/alerts.ts`) are this engine with their subject fields.
 */
import { type AlertBase, type IncidentRule, incidentRules, type Severity, type SilenceMatchers } from "@iot/shared";
import { type Clock, systemClock } from "../clock.ts";

/** What the processor writes for an incident: every field except those the web app and the notifier own. */
export type AlertWriteOf<D extends AlertBase> = Omit<
  D,
  "acknowledged" | "acknowledged_at" | "acknowledged_by" | "delivery"
>;

/** Any incident write. */
export type AnyAlertWrite = AlertWriteOf<AlertBase>;

/** An incident write or the stored document it came from (which may carry the web app's fields). */
export type StoredAlert<W> =
  & W
  & Partial<Pick<AlertBase, "acknowledged" | "acknowledged_at" | "acknowledged_by" | "delivery">>;

/** What an announcement says happened to an incident. */
export type AnnouncementKind = "opened" | "updated" | "resolved";

/** An incident announcement, published to an alerts topic (and the webhook). */
export interface LifecycleEvent<W> {
  event: AnnouncementKind;
  alert: W;
}

/** Why a rule fired: what the incident records of it. */
export interface AlertFinding {
  severity: Severity;
  value: number;
  threshold: number;
  message: string;
  baseline?: number;
}

/**
 * When a rule's condition counts as persistent ("for") or as gone ("clear").
 * `readings`: N evaluations with (for) or without (clear) a finding among the
 * last `of` (default N: consecutive); `ms`: the condition held (or stayed
 * clear) this long. Given both, both must hold; given none, one evaluation is enough.
 */
export interface Persistence {
  readings?: number;
  /** Window of the `readings` count (≥ readings, ≤ 30); default `readings` (consecutive). */
  of?: number;
  ms?: number;
}

/** How one rule opens and clears. */
export interface RuleTiming {
  for: Persistence;
  clear: Persistence;
}

/** Rule timings by rule name; `default` applies to rules not named. */
export type RulePolicy = Record<string, RuleTiming> & { default: RuleTiming };

/** A silence as the engine matches it. */
export interface ActiveSilence {
  id: string;
  matchers: SilenceMatchers;
  /** Epoch ms. */
  expiresAt: number;
}

/** How an engine names its subjects and fills their fields. */
export interface AlertSubjectSpec<S, W extends AnyAlertWrite> {
  /** The key of an evaluated subject (sensor id, url). */
  keyOf(subject: S): string;
  /** The key of the subject of an incident document. */
  keyOfAlert(doc: W): string;
  /** The subject's fields of an incident document. */
  fields(subject: S): Omit<W, keyof AnyAlertWrite | "baseline">;
  /** The labels silences match on (sensor_id, location, sensor_type; url). */
  labels(doc: W): Record<string, string>;
}

/** Options of `AlertLifecycle`. */
export interface AlertLifecycleOptions {
  policy: RulePolicy;
  /** Wall clock of `updated_at` and of silence expiry, epoch ms. */
  now?: Clock;
}

interface RuleState {
  /** Bit i: the evaluation i steps ago had a finding (bit 0: the latest). */
  history: number;
  evaluations: number;
  /** Findings in a row up to the latest evaluation. */
  run: number;
  /** Start of the current run of findings / of clear evaluations. */
  findingSince?: number;
  clearSince?: number;
  /** Time of the latest evaluation (older ones are replays, ignored). */
  lastT: number;
  /** Findings in the current persistence window (counted into the incident when the rule fires). */
  pendingFirst?: number;
}

interface SubjectState<W> {
  rules: Map<string, RuleState>;
  incident?: W;
}

/** The `_id` of an incident: `subject|opened_ms`. */
export function alertId(subjectKey: string, openedAt: number): string {
  return `${subjectKey}|${openedAt}`;
}

const NOT_WRITTEN = new Set(["acknowledged", "acknowledged_at", "acknowledged_by", "delivery"]);

/** An incident document without the fields the web app and the notifier own, which the engine never writes. */
export function processorFields<W extends AnyAlertWrite>(doc: StoredAlert<W>): W {
  return Object.fromEntries(Object.entries(doc).filter(([k]) => !NOT_WRITTEN.has(k))) as W;
}

const SEVERITY_RANK: Record<Severity, number> = { warning: 0, critical: 1 };

const MAX_WINDOW = 30;

/** The bits of a persistence's window of evaluations. */
function windowMask(p: Persistence): number {
  const of = Math.min(MAX_WINDOW, Math.max(p.readings ?? 1, p.of ?? p.readings ?? 1));
  return of >= 31 ? -1 : (1 << of) - 1;
}

/** Whether the last evaluations satisfy `p`, for findings (`want` true) or clear evaluations. */
function persisted(p: Persistence, st: RuleState, want: boolean, t: number): boolean {
  if (p.readings !== undefined && p.readings > 1) {
    const of = Math.min(MAX_WINDOW, Math.max(p.readings, p.of ?? p.readings));
    let n = 0;
    for (let i = 0; i < Math.min(of, st.evaluations); i++) if (((st.history >>> i) & 1) === (want ? 1 : 0)) n++;
    if (n < p.readings) return false;
  }
  if (p.ms !== undefined && p.ms > 0) {
    const since = want ? st.findingSince : st.clearSince;
    if (since === undefined || t - since < p.ms) return false;
  }
  return true;
}

/** Checks a persistence setting; throws a `RangeError` with a sentence-case message. */
export function validatePersistence(name: string, p: Persistence): void {
  if (p.readings !== undefined && !(Number.isInteger(p.readings) && p.readings >= 1 && p.readings <= MAX_WINDOW)) {
    throw new RangeError(`Rule ${name}: readings must be a whole number from 1 to ${MAX_WINDOW}`);
  }
  if (p.of !== undefined && !(Number.isInteger(p.of) && p.of >= (p.readings ?? 1) && p.of <= MAX_WINDOW)) {
    throw new RangeError(`Rule ${name}: of must be a whole number from readings to ${MAX_WINDOW}`);
  }
  if (p.ms !== undefined && !(p.ms >= 0)) throw new RangeError(`Rule ${name}: ms must not be negative`);
}

/** Whether a silence matches an incident's labels and rules at `now`. */
export function silenceMatches(
  s: ActiveSilence,
  labels: Record<string, string>,
  rules: readonly string[],
  now: number,
): boolean {
  if (s.expiresAt <= now) return false;
  const entries = Object.entries(s.matchers).filter(([, v]) => v !== undefined && v !== "");
  if (entries.length === 0) return false;
  return entries.every(([k, v]) => k === "rule" ? rules.includes(v) : labels[k] === v);
}

/** Tracks the open incidents of one kind of subject and collects pending writes and announcements. */
export class AlertLifecycle<S, W extends AnyAlertWrite> {
  #subjects = new Map<string, SubjectState<W>>();
  #pending = new Map<string, W>();
  #events: LifecycleEvent<W>[] = [];
  #silences: ActiveSilence[] = [];
  readonly policy: RulePolicy;
  readonly #now: Clock;

  constructor(readonly spec: AlertSubjectSpec<S, W>, options: AlertLifecycleOptions) {
    for (const [name, r] of Object.entries(options.policy)) {
      validatePersistence(name, r.for);
      validatePersistence(name, r.clear);
    }
    this.policy = options.policy;
    this.#now = options.now ?? systemClock;
  }

  #timing(rule: string): RuleTiming {
    return this.policy[rule] ?? this.policy.default;
  }

  #subject(key: string): SubjectState<W> {
    let s = this.#subjects.get(key);
    if (!s) this.#subjects.set(key, s = { rules: new Map() });
    return s;
  }

  /** Replaces the open incidents by those firing in the database (after a rebalance: the database is the truth). */
  reset(docs: readonly StoredAlert<W>[]): void {
    this.#subjects.clear();
    this.load(docs);
  }

  /** Adopts incidents firing in the database (the newest per subject wins); their rules continue as fired. */
  load(docs: readonly StoredAlert<W>[]): void {
    for (const d of docs) {
      if (d.state !== "firing") continue;
      const s = this.#subject(this.spec.keyOfAlert(d));
      if (s.incident && s.incident.first_seen.getTime() >= d.first_seen.getTime()) continue;
      s.incident = processorFields(d);
      // A document of the per-rule model (before incidents grouped rules) holds one active rule.
      s.incident.rules = incidentRules(s.incident) as W["rules"];
      s.incident.announced ??= true;
      for (const rule of this.#activeRules(s.incident)) {
        const last = (s.incident.rules?.[rule] as IncidentRule).last_seen.getTime();
        s.rules.set(rule, { history: 1, evaluations: 1, run: 1, findingSince: last, lastT: last });
      }
    }
  }

  #activeRules(doc: W): string[] {
    return Object.entries(doc.rules ?? {}).filter(([, r]) => (r as IncidentRule).active).map(([k]) => k);
  }

  /** The open incident of a subject, if any. */
  openIncident(subjectKey: string): W | undefined {
    return this.#subjects.get(subjectKey)?.incident;
  }

  /** Number of open incidents. */
  get openCount(): number {
    let n = 0;
    for (const s of this.#subjects.values()) if (s.incident) n++;
    return n;
  }

  /** Number of subjects tracked (with an incident or a rule's recent evaluations). */
  get subjectCount(): number {
    return this.#subjects.size;
  }

  /**
   * Applies one evaluation of `rule` at time `t` (epoch ms): a finding counts
   * towards the rule's "for" (and, once fired, into the subject's incident), no
   * finding towards its "clear". An evaluation older than the rule's latest
   * (a replay) changes nothing.
   */
  evaluate(subject: S, rule: W["rule"], finding: AlertFinding | undefined, t: number): void {
    const key = this.spec.keyOf(subject);
    const s = finding ? this.#subject(key) : this.#subjects.get(key);
    if (!s) return;
    let st = s.rules.get(rule);
    if (!st) {
      if (!finding) return;
      s.rules.set(rule, st = { history: 0, evaluations: 0, run: 0, lastT: -Infinity });
    }
    if (t < st.lastT || (finding && t === st.lastT)) return;
    st.lastT = t;
    st.history = ((st.history << 1) | (finding ? 1 : 0)) & ((1 << MAX_WINDOW) - 1);
    st.evaluations = Math.min(MAX_WINDOW, st.evaluations + 1);
    const timing = this.#timing(rule);
    const fired = s.incident?.rules?.[rule] as IncidentRule | undefined;
    st.run = finding ? st.run + 1 : 0;
    if (finding) {
      st.clearSince = undefined;
      st.findingSince ??= t;
      st.pendingFirst ??= t;
      if (fired?.active) return this.#update(s, rule, fired, finding, t);
      if (persisted(timing.for, st, true, t)) return this.#fire(s, subject, key, rule, st, finding, t);
      return;
    }
    st.findingSince = undefined;
    st.clearSince ??= t;
    if (!fired?.active) {
      // No finding left in the rule's window: it starts afresh; nothing at all: forget it (bounded memory).
      if ((st.history & windowMask(timing.for)) === 0) st.pendingFirst = undefined;
      if (st.history === 0) s.rules.delete(rule);
      if (!s.incident && s.rules.size === 0) this.#subjects.delete(key);
      return;
    }
    if (persisted(timing.clear, st, false, t)) this.#clearRule(s, key, rule, fired, t);
  }

  #fire(s: SubjectState<W>, subject: S, key: string, rule: string, st: RuleState, f: AlertFinding, t: number): void {
    const count = Math.max(1, st.run, this.#countWindow(st, windowMask(this.#timing(rule).for)));
    const f0 = this.#timing(rule).for;
    // Consecutive findings: the run's first; N of the last M: the first finding in the window.
    const first = ((f0.of ?? 0) > (f0.readings ?? 1) ? st.pendingFirst : st.findingSince) ?? t;
    st.pendingFirst = undefined;
    const entry: IncidentRule = {
      severity: f.severity,
      count,
      first_seen: new Date(first),
      last_seen: new Date(t),
      value: f.value,
      threshold: f.threshold,
      message: f.message,
      active: true,
    };
    if (!s.incident) {
      const doc = {
        _id: alertId(key, t),
        type: rule,
        rule,
        severity: f.severity,
        ...this.spec.fields(subject),
        value: f.value,
        threshold: f.threshold,
        ...(f.baseline === undefined ? {} : { baseline: f.baseline }),
        message: f.message,
        first_seen: new Date(first),
        last_seen: new Date(t),
        count,
        state: "firing",
        rules: { [rule]: entry },
        silenced: false,
        announced: false,
        updated_at: new Date(this.#now()),
      } as unknown as W;
      s.incident = doc;
      this.#write(doc, "opened");
      return;
    }
    const d = s.incident as AnyAlertWrite;
    const wasActive = (d.rules?.[rule] as IncidentRule | undefined)?.active;
    const prev = d.rules?.[rule] as IncidentRule | undefined;
    d.rules = {
      ...d.rules,
      [rule]: prev ? { ...entry, count: prev.count + count, first_seen: prev.first_seen } : entry,
    };
    const worse = SEVERITY_RANK[f.severity] > SEVERITY_RANK[d.severity];
    this.#apply(d, f, t, count);
    this.#write(s.incident, wasActive && !worse ? undefined : "updated");
  }

  #countWindow(st: RuleState, mask: number): number {
    let n = 0;
    for (let bits = st.history & mask; bits; bits &= bits - 1) n++;
    return n;
  }

  #apply(d: AnyAlertWrite & { baseline?: number }, f: AlertFinding, t: number, count: number): void {
    d.count += count;
    if (t > d.last_seen.getTime()) d.last_seen = new Date(t);
    d.value = f.value;
    d.threshold = f.threshold;
    if (f.baseline !== undefined) d.baseline = f.baseline;
    d.message = f.message;
    if (SEVERITY_RANK[f.severity] > SEVERITY_RANK[d.severity]) d.severity = f.severity;
    d.updated_at = new Date(this.#now());
  }

  #update(s: SubjectState<W>, rule: string, fired: IncidentRule, f: AlertFinding, t: number): void {
    const d = s.incident as AnyAlertWrite;
    const worse = SEVERITY_RANK[f.severity] > SEVERITY_RANK[d.severity];
    d.rules = {
      ...d.rules,
      [rule]: {
        ...fired,
        count: fired.count + 1,
        last_seen: new Date(Math.max(t, fired.last_seen.getTime())),
        value: f.value,
        threshold: f.threshold,
        message: f.message,
        severity: SEVERITY_RANK[f.severity] > SEVERITY_RANK[fired.severity] ? f.severity : fired.severity,
      },
    };
    this.#apply(d, f, t, 1);
    this.#write(s.incident!, worse ? "updated" : undefined);
  }

  #clearRule(s: SubjectState<W>, key: string, rule: string, fired: IncidentRule, t: number): void {
    const d = s.incident as AnyAlertWrite;
    d.rules = { ...d.rules, [rule]: { ...fired, active: false } };
    d.updated_at = new Date(this.#now());
    s.rules.delete(rule);
    if (this.#activeRules(s.incident!).length > 0) return this.#write(s.incident!, undefined);
    d.state = "resolved";
    d.resolved_at = new Date(t);
    const doc = s.incident!;
    s.incident = undefined;
    if (s.rules.size === 0) this.#subjects.delete(key);
    this.#write(doc, "resolved");
  }

  /** Marks an incident to be written, matching silences; queues its announcement unless silenced. */
  #write(doc: W, event: LifecycleEvent<W>["event"] | undefined): void {
    const d = doc as AnyAlertWrite;
    const silence = this.#matching(doc);
    d.silenced = silence !== undefined;
    if (silence) d.silence_id = silence.id;
    else delete d.silence_id;
    this.#pending.set(d._id, doc);
    if (!event || d.silenced) return;
    if (event === "updated" && !d.announced) event = "opened";
    // Never announced (opened while silenced): its resolution is not news either.
    if (event === "resolved" && !d.announced) return;
    if (event === "opened") d.announced = true;
    this.#events.push({ event, alert: { ...doc } });
  }

  #matching(doc: W): ActiveSilence | undefined {
    if (this.#silences.length === 0) return undefined;
    const now = this.#now();
    const labels = this.spec.labels(doc);
    const rules = Object.keys(doc.rules ?? { [doc.rule]: true });
    return this.#silences.find((s) => silenceMatches(s, labels, rules, now));
  }

  /**
   * Replaces the silences and re-matches every open incident at the clock's
   * now: one whose silence ended (expired or deleted) is written and, if never
   * announced, announced as opened; one newly silenced is written.
   */
  setSilences(silences: readonly ActiveSilence[]): void {
    const now = this.#now();
    this.#silences = silences.filter((s) => s.expiresAt > now);
    for (const s of this.#subjects.values()) {
      const d = s.incident as AnyAlertWrite | undefined;
      if (!d) continue;
      const silence = this.#matching(s.incident!);
      const silenced = silence !== undefined;
      if (silenced === !!d.silenced && (silence?.id ?? undefined) === d.silence_id) continue;
      d.updated_at = new Date(now);
      this.#write(s.incident!, silenced ? undefined : "opened");
    }
  }

  /** Replaces the open incident of a subject by one found in the database (duplicate open incident). */
  adopt(existing: StoredAlert<W>): void {
    const key = this.spec.keyOfAlert(existing);
    const s = this.#subjects.get(key);
    const cur = s?.incident;
    if (!s || !cur || cur._id === existing._id) return;
    const ours = cur._id;
    this.#pending.delete(ours);
    const rules = { ...(existing.rules ?? {}) } as Record<string, IncidentRule>;
    for (const [k, r] of Object.entries(cur.rules ?? {}) as [string, IncidentRule][]) {
      const e = rules[k];
      rules[k] = e ? { ...r, count: e.count + r.count, first_seen: e.first_seen } : r;
    }
    const merged = {
      ...processorFields(cur),
      _id: existing._id,
      first_seen: existing.first_seen,
      count: existing.count + cur.count,
      rules,
      announced: existing.announced ?? true,
    } as W;
    s.incident = merged;
    this.#pending.set(merged._id, merged);
    // It is not a new incident after all: no "opened" for the duplicate.
    this.#events = this.#events.filter((e) => !(e.alert._id === ours && e.event === "opened"));
  }

  /** Takes the pending writes and announcements (the caller writes, then publishes). */
  drain(): { writes: W[]; events: LifecycleEvent<W>[] } {
    const writes = [...this.#pending.values()].map((d) => ({ ...d }));
    const events = this.#events;
    this.#pending.clear();
    this.#events = [];
    return { writes, events };
  }

  /** Puts writes and announcements back after a failed flush, so nothing is lost. */
  restore(batch: { writes: W[]; events: LifecycleEvent<W>[] }): void {
    for (const w of batch.writes) if (!this.#pending.has(w._id)) this.#pending.set(w._id, w);
    this.#events = [...batch.events, ...this.#events];
  }

  /** Forgets the subjects failing `keep` (no longer owned; reloaded from the database when gained again). */
  retain(keep: (subjectKey: string) => boolean): void {
    for (const k of [...this.#subjects.keys()]) if (!keep(k)) this.#subjects.delete(k);
  }

  /** Forgets every subject. */
  clear(): void {
    this.#subjects.clear();
  }
}
