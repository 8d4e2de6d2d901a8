/**
 * Back-pressure of the producer loop, per lane (a partition, for the native
 * client): a new send waits while `maxSends` sends are still pending on lanes
 * that flow, or while `maxRecords` records are unacknowledged in all. A lane
 * that is stalled (its partition has no leader, its broker is down) does not
 * hold the others back: its records pile up, within `maxRecords`, while the
 * other lanes keep flowing. Pure: the stall test is injected.
 */

/** One lane's share of a send. */
export interface LanePart {
  lane: number;
  records: number;
}

/** Options of `InFlight`. */
export interface InFlightOptions {
  /** Sends pending at once on flowing lanes. */
  maxSends: number;
  /** Unacknowledged records at once, all lanes together. */
  maxRecords: number;
  /** Whether a lane is stalled (retrying): its pending parts do not count against `maxSends`. */
  stalled: (lane: number) => boolean;
}

interface PendingSend {
  /** Pending parts per lane. */
  lanes: Map<number, number>;
}

/** Tracks sends in flight and decides when the loop may send more. */
export class InFlight {
  #sends = new Set<PendingSend>();
  #records = 0;
  #waiters: (() => void)[] = [];

  constructor(readonly options: InFlightOptions) {}

  /** Unacknowledged records. */
  get records(): number {
    return this.#records;
  }

  /** Sends with a part still pending. */
  get sends(): number {
    return this.#sends.size;
  }

  /** Registers a send of `parts`; returns, per part, the function to call once it settled. */
  begin(parts: readonly LanePart[]): (() => void)[] {
    const send: PendingSend = { lanes: new Map() };
    for (const p of parts) send.lanes.set(p.lane, (send.lanes.get(p.lane) ?? 0) + 1);
    if (parts.length) this.#sends.add(send);
    return parts.map((p) => {
      this.#records += p.records;
      let settled = false;
      return () => {
        if (settled) return;
        settled = true;
        this.#records -= p.records;
        const left = send.lanes.get(p.lane)! - 1;
        if (left > 0) send.lanes.set(p.lane, left);
        else send.lanes.delete(p.lane);
        if (send.lanes.size === 0) this.#sends.delete(send);
        for (const w of this.#waiters.splice(0)) w();
      };
    });
  }

  /** Whether a new send must wait. */
  full(): boolean {
    if (this.#records >= this.options.maxRecords) return true;
    let flowing = 0;
    for (const s of this.#sends) {
      for (const lane of s.lanes.keys()) {
        if (!this.options.stalled(lane)) {
          flowing++;
          break;
        }
      }
    }
    return flowing >= this.options.maxSends;
  }

  /** Resolves when a part settles, or after `ms` (a lane may have stalled meanwhile). */
  changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#waiters.push(done);
    });
  }
}
