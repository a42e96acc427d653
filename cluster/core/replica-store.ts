// The replica store (lessons 2 and 5): how a node keeps its copies of keys. The store underneath
// (cluster/storage) holds text under string keys; this module turns a (bucket, key) into a
// storage key, parses and merges versions, and keeps each partition's anti-entropy tree up to
// date on every write (the Dynamo paper's section 4.7 needs the trees to be current; section
// 5 notes the storage engine is pluggable, which is why this layer speaks only text to it).
//
// The version cache: parsing stored text on every read was a fifth of the simulator's time, so
// the store keeps the object it last read or wrote for each key, with a stamp of what was stored,
// and parses again only when the store no longer holds that (another writer, a restart). The
// stamp is the store's revision of the key when it has them (store.ts; Bitcask's key directory
// entry): then a read of a cached key touches no disk at all. Comparing texts instead cost a
// positioned read, a CRC and a UTF-8 decode of the whole record per replica write and per read,
// six pread calls per operation a real node coordinated (issue 13). Worked example: save(k, v)
// puts v's text and keeps {stamp: revision(k) = 41, v}; load(k) finds revision(k) still 41 and
// returns v; after a merge moved k's record, revision(k) is 57, so load(k) reads and parses once
// and keeps {57, v'}. A store without revisions is stamped with the stored text, compared whole.
// The objects are frozen (immutable.ts): a caller that tried to change one in place would throw,
// not corrupt what the next read sees.
//
// A store that holds objects (the simulated disk; store.ts's ObjectHoldingStore) is given the
// frozen version itself and makes its text only if something reads text: encoding every replica
// write to a text of a kilobyte or more (a dozen siblings) and counting its bytes was the largest
// cost per message left in the simulator. The real Bitcask store gets text, as before.

import type { AntiEntropy } from "./anti-entropy.ts";
import { assert } from "./assert.ts";
import { freezeJson } from "./immutable.ts";
import { PairMemo } from "./memo.ts";
import type { NodeStats } from "./node-health.ts";
import { partitionOfKey } from "./ring.ts";
import type { KeyValueStore, ObjectHoldingStore } from "../storage/store.ts";
import type { Environment } from "./types.ts";
import {
  decodeVersion,
  encodeVersion,
  merge,
  sameVersion,
  versionCodec,
  type VersionedObject,
} from "./versions.ts";

/** Parsed versions and key partitions the store keeps at most; past it the cache starts
 * again. */
export const parsedVersionCountMax = 100_000;

/** Storage keys remembered at most (see storageKey); past it the memory starts again. */
export const storageKeyCountMax = 100_000;
const storageKeys = new PairMemo<string, string>(storageKeyCountMax);

/**
 * Store keys join bucket and key with a byte neither may contain (validate.ts refuses it).
 *
 * The same (bucket, key) gives back the very same string, remembered: one request's key meets a
 * dozen Map lookups on its way through a coordinator and three replicas (the version cache, the
 * partition memo, the disk's key directory, the anti-entropy tree, admission), and a string
 * computes its hash once and is matched by address after that. Joined afresh each time, every
 * lookup hashed a new string, 5% of the simulator's time.
 */
export function storageKey(bucket: string, key: string): string {
  let joined = storageKeys.get(bucket, key);
  if (joined === undefined) {
    joined = `${bucket}\u0000${key}`;
    storageKeys.set(bucket, key, joined);
  }
  return joined;
}

/** The (bucket, key) a storage key stands for. */
export function splitStorageKey(key: string): { bucket: string; key: string } {
  const separator = key.indexOf("\u0000");
  return { bucket: key.slice(0, separator), key: key.slice(separator + 1) };
}

/** Does `store` hold objects (store.ts's ObjectHoldingStore), or only text? */
function holdsObjects(store: KeyValueStore): store is ObjectHoldingStore {
  return typeof (store as Partial<ObjectHoldingStore>).putObject === "function";
}

/** Partitions of storage keys by partition count, shared by every node of the process: a pure
 * function of the key (SHA-1), and each node's memory started cold (five simulated nodes
 * meeting a thousand keys hashed each five times). */
const partitionsByCount = new PairMemo<number, number>(parsedVersionCountMax);

function partitionOfStorageKey(key: string, partitionCount: number): number {
  let partition = partitionsByCount.get(partitionCount, key);
  if (partition === undefined) {
    const { bucket, key: name } = splitStorageKey(key);
    partition = partitionOfKey(bucket, name, partitionCount);
    partitionsByCount.set(partitionCount, key, partition);
  }
  return partition;
}

/** A store that names each key's record with a revision (store.ts). */
type RevisionStore = KeyValueStore & Required<Pick<KeyValueStore, "revision">>;

function hasRevisions(store: KeyValueStore): store is RevisionStore {
  return typeof store.revision === "function";
}

/** A cached version and what the store held when it was read or written: the key's revision,
 * or (for a store without revisions) the stored text itself. */
interface CachedVersion {
  stamp: number | string;
  object: VersionedObject;
}

export class ReplicaStore {
  /** The last version read or written per storage key, with the stamp of what was stored. */
  private readonly parsedVersions = new Map<string, CachedVersion>();
  /** The store itself when it holds objects; then it needs no version cache of its own. */
  private readonly objects: ObjectHoldingStore | undefined;
  /** The store itself when it names records with revisions (Bitcask). */
  private readonly revisions: RevisionStore | undefined;

  constructor(
    private readonly env: Environment,
    private readonly partitionCount: number,
    private readonly antiEntropy: AntiEntropy,
    private readonly counters: NodeStats,
  ) {
    this.objects = holdsObjects(env.store) ? env.store : undefined;
    this.revisions = this.objects === undefined && hasRevisions(env.store) ? env.store : undefined;
  }

  /** The stored text of a key (an ownership transfer sends it as it is). */
  text(key: string): string | undefined {
    return this.env.store.get(key);
  }

  /** The version stored under `key`, or null. */
  load(key: string): VersionedObject | null {
    // Such a store holds the very object save() gave it; a key it holds no object for is absent
    // or was put as text by someone else (a test, say), and is read as text below.
    if (this.objects !== undefined) {
      const object = this.objects.getObject(key) as VersionedObject | undefined;
      if (object !== undefined) return object;
    }
    if (this.revisions !== undefined) return this.loadByRevision(this.revisions, key);
    const text = this.env.store.get(key);
    if (text === undefined) return null;
    const cached = this.parsedVersions.get(key);
    if (cached !== undefined && cached.stamp === text) return cached.object;
    const object = decodeVersion(text);
    this.remember(key, text, object);
    return object;
  }

  /** load() from a store with revisions: the disk is read only when the record changed. */
  private loadByRevision(store: RevisionStore, key: string): VersionedObject | null {
    const revision = store.revision(key);
    if (revision === undefined) return null;
    const cached = this.parsedVersions.get(key);
    if (cached !== undefined && cached.stamp === revision) return cached.object;
    const text = store.get(key);
    assert(text !== undefined, "a key with a revision has a value");
    const object = decodeVersion(text);
    this.remember(key, revision, object);
    return object;
  }

  save(key: string, object: VersionedObject): void {
    freezeJson(object); // first: encodeVersion reuses the text of siblings that are frozen
    if (this.objects !== undefined) {
      this.objects.putObject(key, object, versionCodec);
      this.noteStored(key, object);
      return;
    }
    const text = encodeVersion(object);
    this.env.store.put(key, text);
    const revision = this.revisions?.revision(key);
    this.remember(key, revision ?? text, object);
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
    return partitionOfStorageKey(key, this.partitionCount);
  }

  private remember(key: string, stamp: number | string, object: VersionedObject): void {
    if (this.parsedVersions.size >= parsedVersionCountMax) this.parsedVersions.clear();
    this.parsedVersions.set(key, { stamp, object });
  }
}
