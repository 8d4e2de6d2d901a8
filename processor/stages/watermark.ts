/**
 * Event-time watermarks per partition with an idle fallback.
 *
 * A partition's watermark is its highest event time minus the allowed
 * lateness. When a partition has received nothing for `idleMs` of wall-clock
 * time, its watermark advances with the wall clock (as if events kept coming
 * at the same pace), so windows still close. The global watermark (used to
 * close windows fed by several partitions) is the minimum over the assigned
 * partitions; a partition that has had no data since its assignment holds it
 * back until it has been idle for `idleMs`. It never goes backwards.
 */

/** Options of `Watermarks`. */
export interface WatermarkOptions {
  allowedLatenessMs: number;
  /** Wall-clock time without records after which a partition counts as idle. */
  idleMs: number;
}

interface PartitionMark {
  maxEvent: number;
  lastArrival: number;
}

/** Tracks watermarks of the partitions assigned to this instance. */
export class Watermarks {
  #parts = new Map<number, PartitionMark>();
  #assigned = new Map<number, number>();
  #global = -Infinity;

  constructor(readonly options: WatermarkOptions) {}

  /** Records an event of `partition` seen at wall-clock `now`. */
  observe(partition: number, eventTime: number, now: number): void {
    const p = this.#parts.get(partition);
    if (!p) {
      this.#parts.set(partition, { maxEvent: eventTime, lastArrival: now });
      return;
    }
    if (eventTime > p.maxEvent) p.maxEvent = eventTime;
    p.lastArrival = now;
  }

  /** The watermark of one partition at wall-clock `now` (−Infinity before any event). */
  partition(partition: number, now: number): number {
    const p = this.#parts.get(partition);
    if (!p) return -Infinity;
    let wm = p.maxEvent - this.options.allowedLatenessMs;
    const idleFor = now - p.lastArrival;
    if (idleFor >= this.options.idleMs) wm += idleFor;
    return wm;
  }

  /** The global watermark: min over assigned partitions (idle empty ones excluded), monotonic. */
  global(now: number): number {
    let min = Infinity;
    for (const [p, since] of this.#assigned) {
      if (this.#parts.has(p)) min = Math.min(min, this.partition(p, now));
      else if (now - since < this.options.idleMs) min = -Infinity;
    }
    if (min !== Infinity && min > this.#global) this.#global = min;
    return this.#global;
  }

  /**
   * The event-time watermark of a partition, without the idle fallback: its
   * highest event time minus the allowed lateness (−Infinity before any event).
   */
  eventWatermark(partition: number): number {
    const p = this.#parts.get(partition);
    return p ? p.maxEvent - this.options.allowedLatenessMs : -Infinity;
  }

  /**
   * Whether an event of `partition` is too late: behind the partition's
   * event-time watermark. The wall-clock idle fallback is not used here: a
   * partition that only looked idle (e.g. the processor stalled on MongoDB)
   * must not turn in-order records late. The global watermark only decides
   * when windows are final; a window reopened by a slower partition is
   * corrected, not lost.
   */
  isLate(partition: number, eventTime: number): boolean {
    return eventTime < this.eventWatermark(partition);
  }

  /** Sets the assigned partitions (at wall-clock `now`); forgets the others. */
  assign(partitions: Iterable<number>, now: number): void {
    const keep = new Set(partitions);
    for (const p of [...this.#parts.keys()]) if (!keep.has(p)) this.#parts.delete(p);
    for (const p of [...this.#assigned.keys()]) if (!keep.has(p)) this.#assigned.delete(p);
    for (const p of keep) if (!this.#assigned.has(p)) this.#assigned.set(p, now);
  }
}

/** Lateness of one batch's records, in offset order. */
export interface BatchJudgement {
  /** Behind the watermark: refused as late. */
  late: boolean[];
  /** At or below an offset already folded (fetched again): neither judged nor folded again. */
  replay: boolean[];
  /** Highest event time of the batch's new records (or the watermark's, when none is higher). */
  maxEvent: number;
  /** The watermark a late record was behind, per record (NaN when not late). */
  watermark: number[];
}

/**
 * Judges a batch of one partition against the partition's watermark as of
 * the batch plus the batch's own progress, without changing `marks`: the
 * caller applies `maxEvent` once the batch is folded into windows. So a batch
 * abandoned half-way and fetched again is judged exactly as the first time,
 * and records at offsets up to `foldedUpTo` are replays.
 */
export function judgeBatch(
  marks: Watermarks,
  partition: number,
  foldedUpTo: number,
  records: readonly { offset: number; eventTime: number }[],
): BatchJudgement {
  const lateness = marks.options.allowedLatenessMs;
  let max = marks.eventWatermark(partition) + lateness;
  const out: BatchJudgement = { late: [], replay: [], maxEvent: max, watermark: [] };
  for (const r of records) {
    const replay = r.offset <= foldedUpTo;
    const late = !replay && r.eventTime < max - lateness;
    out.watermark.push(late ? max - lateness : NaN);
    if (!replay && r.eventTime > max) max = r.eventTime;
    out.late.push(late);
    out.replay.push(replay);
  }
  out.maxEvent = max;
  return out;
}
