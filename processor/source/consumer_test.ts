import assert from "node:assert/strict";
import { COORDINATOR_LOST_MS, GroupState, isRejoinError } from "./consumer.ts";

Deno.test("heartbeat errors that make the member rejoin are told from others", () => {
  for (
    const type of ["REBALANCE_IN_PROGRESS", "ILLEGAL_GENERATION", "NOT_COORDINATOR_FOR_GROUP", "UNKNOWN_MEMBER_ID"]
  ) {
    assert.equal(isRejoinError({ type, message: "x" }), true, type);
  }
  assert.equal(isRejoinError({ type: "REQUEST_TIMED_OUT" }), false);
  assert.equal(isRejoinError(new Error("The group is rebalancing")), false, "only the protocol error type counts");
  assert.equal(isRejoinError(undefined), false);
});

Deno.test("group state: silence counts only while joined; a commit waits for the join, bounded", async () => {
  let now = 1000;
  const g = new GroupState(() => now);
  assert.equal(g.isJoined, false);
  assert.equal(g.silentFor(), 0, "not joined: no coordinator to miss");
  assert.equal(await g.waitJoined(0), false, "not joined and no time to wait");
  g.joined();
  now += COORDINATOR_LOST_MS + 1;
  assert.ok(g.silentFor() > COORDINATOR_LOST_MS, "joined and no heartbeat since: the coordinator is missed");
  g.heartbeat();
  assert.equal(g.silentFor(), 0);
  g.left();
  assert.equal(g.silentFor(), 0);
  const waiting = g.waitJoined(10_000);
  g.joined();
  assert.equal(await waiting, true, "a waiting commit goes on once the group is joined");
  assert.equal(await g.waitJoined(0), true);
  g.left();
  assert.equal(await g.waitJoined(5), false, "the wait is bounded");
});
