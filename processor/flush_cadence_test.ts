import assert from "node:assert/strict";
import { FlushCadence, flushTickMs } from "./flush_cadence.ts";

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

Deno.test("FlushCadence: a full flush at once, live ones in between, full ones on their own cadence", () => {
  const c = clock();
  const cadence = new FlushCadence({ fullMs: 1000, liveMs: 100, now: c.now });
  assert.equal(cadence.due(), "full", "the first flush is a full one, at once");
  cadence.started("full");
  assert.equal(cadence.due(), undefined);
  assert.equal(cadence.untilDue(), 100);
  c.t += 99;
  assert.equal(cadence.due(), undefined);
  c.t += 1;
  assert.equal(cadence.due(), "live");
  cadence.started("live");
  assert.equal(cadence.due(), undefined);
  const kinds: string[] = [];
  for (let i = 0; i < 9; i++) {
    c.t += 100;
    const due = cadence.due();
    kinds.push(due ?? "-");
    if (due) cadence.started(due);
  }
  assert.deepEqual(kinds, ["live", "live", "live", "live", "live", "live", "live", "live", "full"]);
  assert.equal(cadence.untilDue(), 100, "a full flush restarts the live cadence too");
});

Deno.test("FlushCadence: a late tick runs one flush, not a backlog; full wins when both are due", () => {
  const c = clock();
  const cadence = new FlushCadence({ fullMs: 1000, liveMs: 250, now: c.now });
  cadence.started("full");
  c.t += 600; // a long batch held the lock
  assert.equal(cadence.due(), "live");
  cadence.started("live");
  assert.equal(cadence.due(), undefined, "one live flush covers the missed ones");
  assert.equal(cadence.untilDue(), 250);
  c.t += 400;
  assert.equal(cadence.due(), "full", "the full flush is due at 1000 ms even though a live one is too");
  assert.equal(cadence.untilDue(), 0);
});

Deno.test("FlushCadence: while the previous full flush still writes, the next waits and live ones go on", () => {
  const c = clock();
  const cadence = new FlushCadence({ fullMs: 1000, liveMs: 100, now: c.now });
  cadence.started("full");
  c.t += 1000;
  assert.equal(cadence.due(true), "live", "full is due, but the last one is still writing");
  cadence.started("live");
  assert.equal(cadence.untilDue(true), 100);
  c.t += 50;
  assert.equal(cadence.due(true), undefined);
  assert.equal(cadence.due(false), "full", "once it is done, the full flush is due at once");
  const off = new FlushCadence({ fullMs: 1000, liveMs: 0, now: c.now });
  off.started("full");
  c.t += 2000;
  assert.equal(off.due(true), undefined, "without a live cadence, nothing is due while busy");
  assert.equal(off.untilDue(true), Infinity);
});

Deno.test("FlushCadence: liveMs 0, or not below fullMs, leaves only the full cadence", () => {
  for (const liveMs of [0, 1000, 5000]) {
    const c = clock();
    const cadence = new FlushCadence({ fullMs: 1000, liveMs, now: c.now });
    assert.equal(cadence.live, false);
    cadence.started("full");
    c.t += 999;
    assert.equal(cadence.due(), undefined, `liveMs ${liveMs}`);
    assert.equal(cadence.untilDue(), 1);
    c.t += 1;
    assert.equal(cadence.due(), "full");
  }
});

Deno.test("the flush timer ticks at a quarter of the live cadence, else at half the full one", () => {
  assert.equal(flushTickMs(1000, 100), 25);
  assert.equal(flushTickMs(1000, 20), 10);
  assert.equal(flushTickMs(1000, 0), 500);
  assert.equal(flushTickMs(1000, 1000), 500);
  assert.equal(flushTickMs(100, 0), 100);
});
