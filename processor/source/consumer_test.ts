import assert from "node:assert/strict";
import { isRejoinError } from "./consumer.ts";

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
