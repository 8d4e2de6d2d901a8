import assert from "node:assert/strict";
import { InFlight } from "./in_flight.ts";

Deno.test("sends pending on flowing lanes are bounded; settled parts make room", () => {
  const f = new InFlight({ maxSends: 2, maxRecords: 1000, stalled: () => false });
  const a = f.begin([{ lane: 0, records: 10 }, { lane: 1, records: 10 }]);
  assert.equal(f.full(), false);
  const b = f.begin([{ lane: 0, records: 10 }, { lane: 1, records: 10 }]);
  assert.equal(f.full(), true);
  assert.equal(f.records, 40);
  a[0]();
  assert.equal(f.full(), true, "half a send is still a pending send");
  a[1]();
  a[1](); // settling twice counts once
  assert.equal(f.full(), false);
  assert.equal(f.records, 20);
  b.forEach((s) => s());
  assert.equal(f.sends, 0);
  assert.equal(f.records, 0);
});

Deno.test("a stalled lane does not hold the others back, until the record bound", () => {
  const stalled = new Set<number>();
  const f = new InFlight({ maxSends: 2, maxRecords: 100, stalled: (l) => stalled.has(l) });
  const sends = [0, 1].map(() => f.begin([{ lane: 0, records: 10 }, { lane: 1, records: 10 }]));
  assert.equal(f.full(), true);
  stalled.add(0);
  // Lane 1 settles; lane 0 stays pending and stalled.
  for (const s of sends) s[1]();
  assert.equal(f.full(), false, "the stalled lane's parts do not count");
  for (let i = 0; i < 3; i++) f.begin([{ lane: 0, records: 10 }, { lane: 1, records: 10 }])[1]();
  assert.equal(f.records, 50);
  f.begin([{ lane: 0, records: 50 }]);
  assert.equal(f.full(), true, "the record bound holds whatever the lanes");
});

Deno.test("changed() resolves when a part settles, or after its timeout", async () => {
  const f = new InFlight({ maxSends: 1, maxRecords: 10, stalled: () => false });
  const [settle] = f.begin([{ lane: 0, records: 1 }]);
  let resolved = false;
  const p = f.changed(60_000).then(() => resolved = true);
  settle();
  await p;
  assert.equal(resolved, true);
  await f.changed(1); // times out
});
