import assert from "node:assert/strict";
import { resumePositions, rewinds } from "./rewind.ts";
import { AbandonedError } from "./sinks/retrying.ts";

Deno.test("a rewind resumes at the committed offset, else at the start of the log", () => {
  const r = resumePositions(
    [{ partition: 0, offset: "42" }, { partition: 1, offset: "-1" }],
    [{ partition: 0, low: "0" }, { partition: 1, low: "7" }, { partition: 2, low: "3" }],
  );
  assert.deepEqual(r.committed, [{ partition: 0, offset: 42 }]);
  assert.deepEqual([...r.seek].sort((a, b) => a[0] - b[0]), [[0, 42], [1, 7], [2, 3]]);
});

Deno.test("a write that gave up rewinds, unless the processor stops or the stop abandoned it", () => {
  const gaveUp = new Error("Raw write gave up");
  assert.equal(rewinds(gaveUp, false), true);
  assert.equal(rewinds(gaveUp, true), false);
  assert.equal(rewinds(new AbandonedError("Raw write"), false), false);
});
