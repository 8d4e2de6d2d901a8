/** The local broker's disk bounds. */
import assert from "node:assert/strict";
import { DEFAULT_RETENTION_BYTES, DEFAULT_SEGMENT_BYTES, retentionSettings } from "./kafka.ts";

function withEnv(vars: Record<string, string>, fn: () => void): void {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  try {
    for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
    fn();
  } finally {
    for (const [k, v] of Object.entries(before)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
}

Deno.test("the local broker keeps a bounded size per partition, overridable by options and env", () => {
  withEnv({ IOT_KAFKA_RETENTION_BYTES: "", IOT_KAFKA_SEGMENT_BYTES: "" }, () => {
    assert.deepEqual(retentionSettings(), {
      retentionBytes: DEFAULT_RETENTION_BYTES,
      segmentBytes: DEFAULT_SEGMENT_BYTES,
    });
    assert.deepEqual(retentionSettings({ retentionBytes: 5_000_000, segmentBytes: 2_000_000 }), {
      retentionBytes: 5_000_000,
      segmentBytes: 2_000_000,
    });
  });
  withEnv({ IOT_KAFKA_RETENTION_BYTES: "-1", IOT_KAFKA_SEGMENT_BYTES: "1048576" }, () => {
    assert.deepEqual(retentionSettings(), { retentionBytes: -1, segmentBytes: 1048576 });
  });
  withEnv({ IOT_KAFKA_SEGMENT_BYTES: "1000" }, () => {
    assert.throws(() => retentionSettings(), /IOT_KAFKA_SEGMENT_BYTES must be a whole number of bytes of at least/);
  });
});
