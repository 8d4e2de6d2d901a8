import assert from "node:assert/strict";
import { Reader, Writer } from "./bytes.ts";
import { decodeInitProducerIdResponse, encodeInitProducerIdRequest } from "./init_producer_id.ts";

Deno.test("InitProducerId asks without a transactional id and decodes the id and epoch", () => {
  const r = new Reader(encodeInitProducerIdRequest(60_000));
  assert.equal(r.string(), null);
  assert.equal(r.int32(), 60_000);
  const w = new Writer(32).int32(0).int16(0).int64(4242n).int16(3);
  assert.deepEqual(decodeInitProducerIdResponse(new Reader(w.result())), {
    error: 0,
    identity: { producerId: 4242n, producerEpoch: 3 },
  });
});
