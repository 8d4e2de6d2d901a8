import assert from "node:assert/strict";
import { Reader, Writer } from "./bytes.ts";
import { decodeDescribeConfigsResponse, encodeDescribeConfigsRequest, RESOURCE } from "./describe_configs.ts";

Deno.test("a DescribeConfigs request names the resource and the configs wanted", () => {
  const r = new Reader(
    encodeDescribeConfigsRequest([{ type: RESOURCE.topic, name: "t", names: ["max.message.bytes"] }]),
  );
  assert.equal(r.int32(), 1);
  assert.equal(r.int8(), 2);
  assert.equal(r.string(), "t");
  assert.deepEqual(r.array((r) => r.string()), ["max.message.bytes"]);
  assert.equal(r.bool(), false, "no synonyms");
  assert.equal(r.pos, r.buf.length);
});

Deno.test("a DescribeConfigs v1 response decodes into values by name", () => {
  const w = new Writer(128);
  w.int32(0).int32(1);
  w.int16(0).string(null).int8(2).string("t");
  w.int32(2);
  w.string("max.message.bytes").string("10000").int8(0).int8(1).int8(0).int32(0);
  w.string("secret").string(null).int8(0).int8(5).int8(1).int32(1).string("s").string(null).int8(5);
  const [d] = decodeDescribeConfigsResponse(new Reader(w.result()));
  assert.equal(d.error, 0);
  assert.equal(d.name, "t");
  assert.equal(d.configs.get("max.message.bytes"), "10000");
  assert.equal(d.configs.get("secret"), null);
});
