/** Dead letters: the Kafka message for the DLQ topic and the short copy for `dead_letters`. */
import type { DeadLetterDoc } from "@iot/shared";
import type { Rejected } from "../stages/decode.ts";

export type { Rejected } from "../stages/decode.ts";

/** A message for the DLQ topic (a `PublishRecord`). */
export interface DeadLetterMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

const PREVIEW_CHARS = 200;
const lossy = new TextDecoder("utf-8", { fatal: false });

function toBuffer(b: Buffer | Uint8Array | null): Buffer | null {
  if (b === null) return null;
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** The DLQ message: original key and value bytes unchanged, reason and origin in headers. */
export function deadLetterMessage(r: Rejected, failedAt: Date): DeadLetterMessage {
  return {
    key: toBuffer(r.key),
    value: toBuffer(r.value),
    headers: {
      reason: r.reason,
      detail: r.detail,
      "source.topic": r.topic,
      "source.partition": String(r.partition),
      "source.offset": r.offset,
      failed_at: failedAt.toISOString(),
    },
  };
}

/** The `dead_letters` document; `_id` is `topic:partition:offset`, so a replay adds nothing. */
export function deadLetterDoc(r: Rejected, failedAt: Date): DeadLetterDoc {
  const size = r.value?.byteLength ?? 0;
  return {
    _id: `${r.topic}:${r.partition}:${r.offset}`,
    reason: r.reason,
    detail: r.detail,
    origin: {
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      key: r.key === null ? null : lossy.decode(r.key),
    },
    preview: r.value ? lossy.decode(r.value.subarray(0, PREVIEW_CHARS * 4)).slice(0, PREVIEW_CHARS) : "",
    size,
    failed_at: failedAt,
  };
}
