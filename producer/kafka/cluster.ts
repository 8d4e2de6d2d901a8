/**
 * Requests that any broker answers (Metadata, InitProducerId, DescribeConfigs), on one
 * connection to the first reachable bootstrap broker, reopened when it drops. When no
 * bootstrap broker answers, the brokers the last metadata named are tried too (as the
 * Java client picks any known node), so losing the bootstrap broker does not stop
 * metadata refreshes while the rest of the cluster is up.
 */
import { Connection, parseAddress } from "./connection.ts";
import type { KafkaSecurity } from "@iot/shared";
import { KafkaAuthenticationError, KafkaConnectionError, protocolError } from "./errors.ts";
import {
  decodeDescribeConfigsResponse,
  DESCRIBE_CONFIGS,
  encodeDescribeConfigsRequest,
  RESOURCE,
} from "./protocol/describe_configs.ts";
import {
  decodeInitProducerIdResponse,
  encodeInitProducerIdRequest,
  INIT_PRODUCER_ID,
} from "./protocol/init_producer_id.ts";
import { decodeMetadataResponse, encodeMetadataRequest, METADATA, type MetadataResponse } from "./protocol/metadata.ts";
import type { ProducerIdentity } from "./protocol/record_batch.ts";

const MAX_MESSAGE_BYTES = "max.message.bytes";

/** Options of `ClusterClient`. */
export interface ClusterClientOptions {
  /** Bootstrap servers, `host:port`, tried in order. */
  brokers: readonly string[];
  clientId: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** TLS and SASL of every connection. */
  security?: KafkaSecurity;
}

/** Cluster-wide requests over a bootstrap connection. */
export class ClusterClient {
  #conn: Connection | undefined;
  /** Brokers named by the last metadata response, `host:port`. */
  #known: string[] = [];

  constructor(readonly options: ClusterClientOptions) {}

  async #bootstrap(): Promise<Connection> {
    if (this.#conn && !this.#conn.closed) return this.#conn;
    const o = this.options;
    let last: Error | undefined;
    const candidates = [...new Set([...o.brokers, ...this.#known])];
    for (const b of candidates) {
      try {
        const { host, port } = parseAddress(b);
        this.#conn = await Connection.open({
          host,
          port,
          clientId: o.clientId,
          timeoutMs: o.connectTimeoutMs,
          ...o.security,
        });
        return this.#conn;
      } catch (e) {
        // Refused credentials or certificates are the same at every broker: no point trying the next.
        if (e instanceof KafkaAuthenticationError) throw e;
        last = e as Error;
      }
    }
    throw last ?? new KafkaConnectionError("No bootstrap broker");
  }

  /** The cluster's brokers and the partitions of `topic`. */
  async metadata(topic: string): Promise<MetadataResponse> {
    const conn = await this.#bootstrap();
    const r = await conn.request(METADATA, encodeMetadataRequest(topic), { timeoutMs: this.options.requestTimeoutMs });
    const response = decodeMetadataResponse(r!);
    if (response.brokers.size) {
      this.#known = [...response.brokers.values()].map(({ host, port }) =>
        host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`
      );
    }
    return response;
  }

  /** A new producer id and epoch (idempotent producer, no transactions). */
  async initProducerId(): Promise<ProducerIdentity> {
    const conn = await this.#bootstrap();
    const r = await conn.request(INIT_PRODUCER_ID, encodeInitProducerIdRequest(), {
      timeoutMs: this.options.requestTimeoutMs,
    });
    const { error, identity } = decodeInitProducerIdResponse(r!);
    if (error !== 0) throw protocolError(error, "InitProducerId");
    return identity;
  }

  /**
   * The largest record batch `topic` accepts: its `max.message.bytes` (which
   * falls back to the broker's `message.max.bytes` when the topic does not set it).
   */
  async maxMessageBytes(topic: string): Promise<number> {
    const conn = await this.#bootstrap();
    const body = encodeDescribeConfigsRequest([{ type: RESOURCE.topic, name: topic, names: [MAX_MESSAGE_BYTES] }]);
    const r = await conn.request(DESCRIBE_CONFIGS, body, { timeoutMs: this.options.requestTimeoutMs });
    const d = decodeDescribeConfigsResponse(r!).find((d) => d.name === topic);
    if (!d || d.error !== 0) throw protocolError(d?.error ?? 3, `DescribeConfigs of topic ${topic}`);
    const value = Number(d.configs.get(MAX_MESSAGE_BYTES));
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new Error(`Topic ${topic} reports no usable ${MAX_MESSAGE_BYTES}`);
    }
    return value;
  }

  /** Closes the bootstrap connection. */
  close(): void {
    this.#conn?.close();
  }
}
