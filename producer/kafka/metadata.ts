/**
 * The partition cache of one topic: its partitions, their leaders, the
 * brokers' addresses, and the partition of every key seen (murmur2 once per
 * key). Pure: fed with decoded metadata responses.
 */
import type { BrokerAddress } from "./connection.ts";
import { protocolError } from "./errors.ts";
import { partitionForKey } from "./partitioner.ts";
import type { MetadataResponse } from "./protocol/metadata.ts";

/** A key's bytes and partition. */
export interface RoutedKey {
  bytes: Uint8Array;
  partition: number;
}

const encoder = new TextEncoder();

/** What the client knows of its topic's partitions and leaders. */
export class PartitionCache {
  #brokers = new Map<number, BrokerAddress>();
  #leaders: number[] = [];
  #keys = new Map<string, RoutedKey>();

  constructor(readonly topic: string) {}

  /** Number of partitions of the topic (0 before the first update). */
  get partitions(): number {
    return this.#leaders.length;
  }

  /**
   * Takes a metadata response. Throws the topic's error (UNKNOWN_TOPIC_OR_PARTITION
   * when absent); forgets the keys' partitions when the partition count changed.
   * Returns the partitions whose leader changed.
   */
  update(response: MetadataResponse): number[] {
    const t = response.topics.find((t) => t.name === this.topic);
    if (!t || t.error !== 0) throw protocolError(t?.error ?? 3, `Metadata of topic ${this.topic}`);
    const leaders: number[] = new Array(t.partitions.length).fill(-1);
    for (const p of t.partitions) leaders[p.index] = p.leader;
    if (this.#leaders.length !== leaders.length) this.#keys.clear();
    const changed = leaders.flatMap((l, p) => l !== this.#leaders[p] ? [p] : []);
    this.#leaders = leaders;
    this.#brokers = new Map(response.brokers);
    return changed;
  }

  /** The node id of a partition's leader (-1: none known). */
  leader(partition: number): number {
    return this.#leaders[partition] ?? -1;
  }

  /** The address of a broker node. */
  address(node: number): BrokerAddress | undefined {
    return this.#brokers.get(node);
  }

  /** A key's bytes and partition (as the Java client's default partitioner picks it). */
  route(key: string): RoutedKey {
    let k = this.#keys.get(key);
    if (!k) {
      const bytes = encoder.encode(key);
      k = { bytes, partition: partitionForKey(bytes, this.partitions) };
      this.#keys.set(key, k);
    }
    return k;
  }
}
