import assert from "node:assert/strict";
import { Reader, Writer } from "./bytes.ts";
import { decodeMetadataResponse, encodeMetadataRequest } from "./metadata.ts";

Deno.test("the metadata request names one topic and does not create it", () => {
  const r = new Reader(encodeMetadataRequest("sensor-data"));
  assert.equal(r.int32(), 1);
  assert.equal(r.string(), "sensor-data");
  assert.equal(r.bool(), false, "allow_auto_topic_creation");
  assert.equal(r.pos, r.buf.length);
});

Deno.test("a metadata v5 response decodes into brokers, controller, partitions and leaders", () => {
  const w = new Writer(256);
  w.int32(0); // throttle
  w.int32(2);
  w.int32(1).string("h1").int32(9092).string(null);
  w.int32(2).string("h2").int32(9093).string("rack-b");
  w.string("cluster").int32(2);
  w.int32(1); // topics
  w.int16(0).string("t").int8(0);
  w.int32(2);
  for (const [index, leader] of [[0, 2], [1, -1]]) {
    w.int16(leader < 0 ? 5 : 0).int32(index).int32(leader);
    w.int32(2).int32(1).int32(2); // replicas
    w.int32(1).int32(2); // isr
    w.int32(0); // offline
  }
  const m = decodeMetadataResponse(new Reader(w.result()));
  assert.deepEqual([...m.brokers], [[1, { host: "h1", port: 9092 }], [2, { host: "h2", port: 9093 }]]);
  assert.equal(m.controller, 2);
  assert.deepEqual(m.topics, [{
    error: 0,
    name: "t",
    internal: false,
    partitions: [{ error: 0, index: 0, leader: 2 }, { error: 5, index: 1, leader: -1 }],
  }]);
});
