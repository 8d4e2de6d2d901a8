import assert from "node:assert/strict";
import { parseSubscription } from "./sensor_feed.ts";

Deno.test("subscriptions are validated strictly", () => {
  assert.deepEqual(parseSubscription(JSON.stringify({ t: "sub" })), {
    types: undefined,
    locations: undefined,
    sensor: undefined,
    kind: "type_location",
    size: 10,
  });
  const f = parseSubscription(JSON.stringify({ t: "sub", types: ["humidity"], locations: ["office-lab"] }));
  assert.ok(f?.types?.has("humidity") && f.locations?.has("office-lab"));
  // Open vocabularies (issue 13): types and locations nobody described pass when they match the pattern.
  const open = parseSubscription(JSON.stringify({ t: "sub", types: ["co2", "plasma"], locations: ["lab-7"] }));
  assert.ok(open?.types?.has("co2") && open.types.has("plasma") && open.locations?.has("lab-7"));
  assert.equal(
    parseSubscription(JSON.stringify({ t: "sub", sensor: "sensor_0001", kind: "sensor", size: 60 }))?.size,
    60,
  );
  for (
    const bad of [
      "nope",
      "null",
      "[]",
      JSON.stringify({ t: "other" }),
      JSON.stringify({ t: "sub", types: "humidity" }),
      JSON.stringify({ t: "sub", types: ["$x"] }),
      JSON.stringify({ t: "sub", locations: [" lab"] }),
      JSON.stringify({ t: "sub", types: ["x".repeat(65)] }),
      JSON.stringify({ t: "sub", types: [7] }),
      JSON.stringify({ t: "sub", locations: Array(21).fill("office-lab") }),
      JSON.stringify({ t: "sub", sensor: "../x" }),
      JSON.stringify({ t: "sub", kind: "global" }),
      JSON.stringify({ t: "sub", size: 30 }),
      JSON.stringify({ t: "sub", pad: "x".repeat(5000) }),
    ]
  ) {
    assert.equal(parseSubscription(bad), undefined, bad.slice(0, 60));
  }
});
