/** DescribeConfigs v1 (API key 32): configuration values of topics or brokers, e.g. `max.message.bytes`. */
import type { Api } from "../connection.ts";
import { type Reader, Writer } from "./bytes.ts";

/** The API key and version this codec speaks. */
export const DESCRIBE_CONFIGS: Api = { key: 32, version: 1 };

/** Resource types of DescribeConfigs. */
export const RESOURCE = { topic: 2, broker: 4 } as const;

/** One resource to describe: all its configs, or only `names`. */
export interface ConfigResource {
  type: number;
  name: string;
  names?: readonly string[];
}

/** One described resource. */
export interface DescribedResource {
  error: number;
  errorMessage: string | null;
  type: number;
  name: string;
  /** Config name → value (null for sensitive or unset values). */
  configs: Map<string, string | null>;
}

/** Encodes a request body (without synonyms). */
export function encodeDescribeConfigsRequest(resources: readonly ConfigResource[]): Uint8Array {
  const w = new Writer(128);
  w.int32(resources.length);
  for (const r of resources) {
    w.int8(r.type).string(r.name);
    if (!r.names) w.int32(-1);
    else {
      w.int32(r.names.length);
      for (const n of r.names) w.string(n);
    }
  }
  w.int8(0); // include_synonyms
  return w.result();
}

/** Decodes a response (the reader positioned after the response header). */
export function decodeDescribeConfigsResponse(r: Reader): DescribedResource[] {
  r.int32(); // throttle
  return r.array((r) => {
    const error = r.int16();
    const errorMessage = r.string();
    const type = r.int8();
    const name = r.string() ?? "";
    const configs = new Map<string, string | null>();
    r.array((r) => {
      const key = r.string() ?? "";
      const value = r.string();
      r.bool(); // read only
      r.int8(); // source
      r.bool(); // sensitive
      r.array((r) => [r.string(), r.string(), r.int8()]); // synonyms
      configs.set(key, value);
    });
    return { error, errorMessage, type, name, configs };
  });
}
