// Active anti-entropy trees (lesson 5 and lesson 6): a hash tree per partition over its keys
// and versions, so two replicas can find the keys they disagree on without sending them all.
// Dynamo and Riak use Merkle trees; this one has two levels that learners can hold in their head:
//
//   root = hash of the 64 segment hashes
//   segment s = XOR of digest(key, version) over every key whose hash falls in segment s
//
// A version enters its digest as its fingerprint (versions.ts: the clock and the siblings' dots),
// not as its whole JSON: the fingerprint names the version just as well and is much shorter.
//
// XOR makes every segment incremental: writing a key XORs its old digest out and its new one in,
// so the tree is kept up to date for O(1) work per write, never rebuilt.
//
// And the work is done late. A write only notes the key's new version (one Map.set); its digest
// is taken when the tree is next read, by an exchange. A node exchanges one partition a round
// (a second), so a hot key written ten times between two reads of its tree is hashed once, not
// ten times, and a partition nobody compares is not hashed at all: per write that was a SHA-1
// and a fingerprint, an eighth of the simulator's time. XOR does not care in which order the
// noted keys are folded in, so a late tree is exactly the tree an eager one would be.
// An exchange compares roots, then the 64 segments, then only the keys of differing segments.
// Pure and browser-safe.

import { sha1Hex, sha1Words } from "./sha1.ts";

export const segmentCount = 64;

/** 64-bit digests as two 32-bit halves (XOR-able without bigint). */
export type Digest = [number, number];

/** The first 64 bits of the SHA-1 of `text`. */
export function digest(text: string): Digest {
  const words = sha1Words(text);
  return [words[0]! >>> 0, words[1]! >>> 0];
}

/** Which segment of its partition a key belongs to (a hash independent of its partition). */
export function segmentOf(storageKey: string): number {
  let hash = 2166136261;
  for (let index = 0; index < storageKey.length; index += 1) {
    hash = Math.imul(hash ^ storageKey.charCodeAt(index), 16777619);
  }
  return (hash >>> 0) % segmentCount;
}

/**
 * The tree of one partition over values of type `Value` (a version, for a node), each named by
 * the text `fingerprintOf` makes of it; with no `fingerprintOf`, the values are that text.
 */
export class PartitionTree<Value = string> {
  private readonly segments: Digest[] = Array.from(
    { length: segmentCount },
    () => [0, 0] as Digest,
  );
  /** The digest each key currently contributes, so an update can XOR it out. */
  private readonly keyDigests = new Map<string, Digest>();
  /** Keys written since the tree was last read, with their newest value (undefined: removed). */
  private readonly noted = new Map<string, Value | undefined>();

  constructor(
    private readonly fingerprintOf: (value: Value) => string = (value) => String(value),
  ) {}

  /** Records that `storageKey` now holds `value` (or nothing); hashed when the tree is read. */
  set(storageKey: string, value: Value | undefined): void {
    this.noted.set(storageKey, value);
  }

  /** Folds every noted write into the segments (in any order: XOR commutes). */
  private settle(): void {
    if (this.noted.size === 0) return;
    for (const [storageKey, value] of this.noted) {
      this.apply(storageKey, value === undefined ? undefined : this.fingerprintOf(value));
    }
    this.noted.clear();
  }

  private apply(storageKey: string, fingerprint: string | undefined): void {
    const segment = this.segments[segmentOf(storageKey)]!;
    const old = this.keyDigests.get(storageKey);
    if (old !== undefined) {
      segment[0] = (segment[0] ^ old[0]) >>> 0;
      segment[1] = (segment[1] ^ old[1]) >>> 0;
      this.keyDigests.delete(storageKey);
    }
    if (fingerprint === undefined) return;
    const next = digest(`${storageKey}\u0000${fingerprint}`);
    segment[0] = (segment[0] ^ next[0]) >>> 0;
    segment[1] = (segment[1] ^ next[1]) >>> 0;
    this.keyDigests.set(storageKey, next);
  }

  root(): string {
    this.settle();
    return sha1Hex(this.segments.map(([high, low]) => `${high}.${low}`).join(","));
  }

  segmentHashes(): string[] {
    this.settle();
    return this.segments.map(([high, low]) => `${high.toString(16)}.${low.toString(16)}`);
  }

  /** Every key of one segment with its digest, for the last step of an exchange. */
  keysOf(segment: number): Record<string, string> {
    this.settle();
    const keys: Record<string, string> = {};
    for (const [key, value] of this.keyDigests) {
      if (segmentOf(key) === segment)
        keys[key] = `${value[0].toString(16)}.${value[1].toString(16)}`;
    }
    return keys;
  }

  /** Every key in this partition, sorted. */
  keys(): string[] {
    const keys: string[] = [];
    for (const key of this.keyDigests.keys()) if (!this.noted.has(key)) keys.push(key);
    for (const [key, value] of this.noted) if (value !== undefined) keys.push(key);
    return keys.sort();
  }

  /** How many keys the partition holds. Like keys(), it needs no digest, so it takes none:
   * ownership transfer asks every partition's count each round, and settling there would
   * hash every write after all. */
  get keyCount(): number {
    let count = this.keyDigests.size;
    for (const [key, value] of this.noted) {
      count += (value === undefined ? 0 : 1) - (this.keyDigests.has(key) ? 1 : 0);
    }
    return count;
  }
}
