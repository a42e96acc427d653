// The replica store (lessons 2 and 5): how a node keeps its copies of keys. The store underneath
// (cluster/storage) holds text under string keys; this module turns a (bucket, key) into a
// storage key, parses and merges versions, and keeps each partition's anti-entropy tree up to
// date on every write (the Dynamo paper's section 4.7 needs the trees to be current; section
// 5 notes the storage engine is pluggable, which is why this layer speaks only text to it).
//
// The version cache: parsing stored text on every read was a fifth of the simulator's time, so
// the store keeps the object it last read or wrote for each key, with the text it stands for,
// and parses again only when the stored text is not that text (another writer, a restart). The
// objects are frozen (immutable.ts): a caller that tried to change one in place would throw,
// not corrupt what the next read sees.

import type { AntiEntropy } from "./anti-entropy.ts";
import { freezeJson } from "./immutable.ts";
import type { NodeStats } from "./node-health.ts";
import { partitionOfKey } from "./ring.ts";
import type { Environment } from "./types.ts";
import {
  decodeVersion,
  encodeVersion,
  merge,
  sameVersion,
  type VersionedObject,
} from "./versions.ts";

/** Parsed versions and key partitions the store keeps at most; past it the cache starts
 * again. */
export const parsedVersionCountMax = 100_000;

/** Store keys join bucket and key with a byte neither may contain (validate.ts refuses it). */
export function storageKey(bucket: string, key: string): string {
  return `${bucket}\u0000${key}`;
}

/** The (bucket, key) a storage key stands for. */
export function splitStorageKey(key: string): { bucket: string; key: string } {
  const separator = key.indexOf("\u0000");
  return { bucket: key.slice(0, separator), key: key.slice(separator + 1) };
}

export class ReplicaStore {
  /** The last version read or written per storage key, with the stored text it stands for. */
  private readonly parsedVersions = new Map<string, { text: string; object: VersionedObject }>();
  private readonly partitionByKey = new Map<string, number>();

  constructor(
    private readonly env: Environment,
    private readonly partitionCount: number,
    private readonly antiEntropy: AntiEntropy,
    private readonly counters: NodeStats,
  ) {}

  /** The stored text of a key (an ownership transfer sends it as it is). */
  text(key: string): string | undefined {
    return this.env.store.get(key);
  }

  /** The version stored under `key`, or null. */
  load(key: string): VersionedObject | null {
    const text = this.env.store.get(key);
    if (text === undefined) return null;
    const cached = this.parsedVersions.get(key);
    if (cached !== undefined && cached.text === text) return cached.object;
    const object = decodeVersion(text);
    this.remember(key, text, object);
    return object;
  }

  save(key: string, object: VersionedObject): void {
    freezeJson(object); // first: encodeVersion reuses the text of siblings that are frozen
    const text = encodeVersion(object);
    this.env.store.put(key, text);
    this.remember(key, text, object);
    this.noteStored(key, object);
  }

  remove(key: string): void {
    this.env.store.delete(key);
    this.parsedVersions.delete(key);
    this.noteStored(key, null);
  }

  /** Merges an incoming version into the local one; true when the local one changed. */
  applyVersion(key: string, incoming: VersionedObject): boolean {
    const local = this.load(key);
    const merged = merge(local, incoming)!;
    if (sameVersion(local, merged)) return false;
    this.save(key, merged);
    this.counters.replicaWrites += 1;
    return true;
  }

  /** Keeps the anti-entropy tree of the key's partition up to date (O(1) per write). The tree
   * hashes the version's fingerprint (clock and dots), not its whole JSON text, and only when
   * it is next read (merkle.ts): the object is frozen, so it is still this version then. */
  noteStored(key: string, object: VersionedObject | null): void {
    const partition = this.partitionOf(key);
    this.antiEntropy.tree(partition).set(key, object === null ? undefined : object);
  }

  /** A key's partition, memoised: Q never changes, and every write asks. */
  partitionOf(key: string): number {
    let partition = this.partitionByKey.get(key);
    if (partition === undefined) {
      const { bucket, key: name } = splitStorageKey(key);
      partition = partitionOfKey(bucket, name, this.partitionCount);
      if (this.partitionByKey.size >= parsedVersionCountMax) this.partitionByKey.clear();
      this.partitionByKey.set(key, partition);
    }
    return partition;
  }

  private remember(key: string, text: string, object: VersionedObject): void {
    if (this.parsedVersions.size >= parsedVersionCountMax) this.parsedVersions.clear();
    this.parsedVersions.set(key, { text, object });
  }
}
