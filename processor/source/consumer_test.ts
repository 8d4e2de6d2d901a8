import assert from "node:assert/strict";
import { COORDINATOR_LOST_MS, CoordinatorLostError, GroupState, isRejoinError } from "./consumer.ts";

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

Deno.test("a lost coordinator asks for one rejoin, then again only after a pause; the error makes kafkajs rejoin", () => {
  let now = 0;
  const g = new GroupState(() => now);
  assert.equal(g.rejoinDue(6000, 2000), false, "not joined");
  g.joined();
  now = 5999;
  assert.equal(g.rejoinDue(6000, 2000), false, "heard from the coordinator recently");
  now = 6000;
  assert.equal(g.rejoinDue(6000, 2000), true);
  now = 7000;
  assert.equal(g.rejoinDue(6000, 2000), false, "asked a moment ago");
  now = 8000;
  assert.equal(g.rejoinDue(6000, 2000), true, "still silent: ask again");
  g.joined();
  assert.equal(g.rejoinDue(6000, 2000), false, "rejoined");
  const e = new CoordinatorLostError(6500);
  assert.equal(e.type, "NOT_COORDINATOR_FOR_GROUP", "the type kafkajs rejoins on");
  assert.equal(isRejoinError(e), true);
  assert.match(String(e), /rebalanc/, "kafkajs's error line about it is filed under debug");
});
