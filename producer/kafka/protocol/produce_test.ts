import assert from "node:assert/strict";
import { Reader, Writer } from "./bytes.ts";
import { decodeProduceResponse, encodeProduceRequest } from "./produce.ts";

Deno.test("a produce request carries acks, timeout, the topic and one batch per partition", () => {
  const body = encodeProduceRequest({
    acks: -1,
    timeoutMs: 30_000,
    topic: "t",
    batches: [{ partition: 2, bytes: new Uint8Array([1, 2, 3]) }, { partition: 0, bytes: new Uint8Array([4]) }],
  });
  const r = new Reader(body);
  assert.equal(r.int16(), -1, "no transactional id");
  assert.equal(r.int16(), -1);
  assert.equal(r.int32(), 30_000);
  assert.equal(r.int32(), 1);
  assert.equal(r.string(), "t");
  assert.deepEqual(
    r.array((r) => {
      const partition = r.int32();
      const n = r.int32();
      const bytes = [...r.buf.subarray(r.pos, r.pos + n)];
      r.pos += n;
      return { partition, bytes };
    }),
    [{ partition: 2, bytes: [1, 2, 3] }, { partition: 0, bytes: [4] }],
  );
  assert.equal(r.pos, body.length);
});

Deno.test("a produce v7 response decodes into per-partition error codes and offsets", () => {
  const w = new Writer(128);
  w.int32(1).string("t").int32(2);
  w.int32(0).int16(0).int64(41n).int64(-1n).int64(0n);
  w.int32(1).int16(10).int64(-1n).int64(-1n).int64(-1n);
  w.int32(0); // throttle
  assert.deepEqual(decodeProduceResponse(new Reader(w.result())), [
    { topic: "t", partition: 0, error: 0, baseOffset: 41n },
    { topic: "t", partition: 1, error: 10, baseOffset: -1n },
  ]);
});
