import assert from "node:assert/strict";
import { parseConsumerPerf } from "./kafka_tools.ts";

Deno.test("parseConsumerPerf reads the fetch rate from ConsumerPerformance's CSV", () => {
  const out =
    `start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, ` +
    `fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-11-23 04:04:16:203, 2026-11-23 04:04:17:412, 46.1624, 38.1823, 200000, 165425.9719, 522, 687, 67.1941, 291120.8151
`;
  const r = parseConsumerPerf(out);
  assert.equal(r.messages, 200000);
  assert.equal(r.fetchMsgPerSec, 291120.8151);
  assert.equal(r.rebalanceMs, 522);
  assert.throws(() => parseConsumerPerf("nothing"), /Unexpected ConsumerPerformance output/);
});
