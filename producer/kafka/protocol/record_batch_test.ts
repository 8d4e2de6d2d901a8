import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
// kafkajs' own decoder and checksum serve as independent references.
import KafkaDecoder from "kafkajs/src/protocol/decoder.js";
import decodeRecordBatch from "kafkajs/src/protocol/recordBatch/v0/decoder.js";
import kafkaCrc32c from "kafkajs/src/protocol/recordBatch/crc32C/index.js";
import { BATCH_OVERHEAD, crc32c, headersSize, patchIdentity, RecordBatchBuilder, recordSize } from "./record_batch.ts";

const enc = new TextEncoder();

Deno.test("crc32c matches the standard check value and kafkajs on random data", () => {
  assert.equal(crc32c(enc.encode("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array()), 0);
  for (const n of [1, 7, 8, 9, 63, 1000, 65_536]) {
    const data = crypto.getRandomValues(new Uint8Array(n));
    assert.equal(crc32c(data), kafkaCrc32c(Buffer.from(data)) >>> 0, `length ${n}`);
  }
});

for (const compression of ["none", "gzip"] as const) {
  Deno.test(`a ${compression} record batch decodes with kafkajs: keys, values, sequence, producer id`, async () => {
    const b = new RecordBatchBuilder();
    const values = ["plain", '{"unit":"°C"}', "x".repeat(300), new Uint8Array([0xff, 0x00, 0x7b])];
    values.forEach((v, i) => b.add(enc.encode(`key-${i}`), v));
    const bytes = b.build(1_700_000_000_123, { producerId: 4242n, producerEpoch: 3 }, 17, compression);
    const batch = await decodeRecordBatch(new KafkaDecoder(Buffer.from(bytes)));
    assert.equal(batch.producerId, "4242");
    assert.equal(batch.producerEpoch, 3);
    assert.equal(batch.firstSequence, 17);
    assert.equal(bytes[16], 2, "magic byte");
    assert.equal(batch.records.length, 4);
    batch.records.forEach((r: { key: Buffer; value: Buffer; offset: string; timestamp: string }, i: number) => {
      assert.equal(r.key.toString(), `key-${i}`);
      const v = values[i];
      assert.deepEqual(new Uint8Array(r.value), typeof v === "string" ? enc.encode(v) : v);
      assert.equal(r.offset, String(i));
      assert.equal(r.timestamp, "1700000000123");
    });
    // The CRC covers attributes onwards.
    const crc = new DataView(bytes.buffer, bytes.byteOffset).getUint32(17);
    assert.equal(crc, crc32c(bytes.subarray(21)));
  });
}

Deno.test("patchIdentity rewrites producer id, epoch and sequence and keeps the CRC valid", async () => {
  const b = new RecordBatchBuilder();
  b.add(enc.encode("k"), "v");
  const bytes = b.build(1, { producerId: -1n, producerEpoch: -1 }, -1, "none");
  patchIdentity(bytes, { producerId: 77n, producerEpoch: 2 }, 1234);
  const batch = await decodeRecordBatch(new KafkaDecoder(Buffer.from(bytes)));
  assert.equal(batch.producerId, "77");
  assert.equal(batch.producerEpoch, 2);
  assert.equal(batch.firstSequence, 1234);
  assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(17), crc32c(bytes.subarray(21)));
});

Deno.test("null keys and values and record headers decode with kafkajs; recordSize bounds them", async () => {
  const b = new RecordBatchBuilder();
  const headers = [[enc.encode("reason"), enc.encode("invalid_json")], [
    enc.encode("empty"),
    new Uint8Array(),
  ]] as const;
  b.add(null, "v0", headers);
  b.add(enc.encode("k1"), null);
  b.add(null, null, [[enc.encode("h"), new Uint8Array([0xff])]]);
  const bytes = b.build(1_700_000_000_000, { producerId: -1n, producerEpoch: -1 }, -1, "none");
  const batch = await decodeRecordBatch(new KafkaDecoder(Buffer.from(bytes)));
  type Decoded = { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer> };
  const [r0, r1, r2] = batch.records as Decoded[];
  assert.equal(r0.key, null);
  assert.equal(r0.value?.toString(), "v0");
  assert.equal(r0.headers.reason.toString(), "invalid_json");
  assert.equal(r0.headers.empty.length, 0);
  assert.equal(r1.key?.toString(), "k1");
  assert.equal(r1.value, null);
  assert.deepEqual(Object.keys(r1.headers), []);
  assert.equal(r2.key, null);
  assert.equal(r2.value, null);
  assert.deepEqual([...r2.headers.h], [0xff]);
  const one = new RecordBatchBuilder();
  one.add(null, "v0", headers);
  assert.ok(
    one.sizeInBytes - BATCH_OVERHEAD <= recordSize(-1, 2, headersSize(headers)),
    "recordSize is an upper bound with headers and a null key",
  );
});
