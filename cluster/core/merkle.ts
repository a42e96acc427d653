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
// so the tree is kept up to date on every write for O(1) work, never rebuilt on the hot path.
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

export class PartitionTree {
  readonly segments: Digest[] = Array.from({ length: segmentCount }, () => [0, 0] as Digest);
  /** The digest each key currently contributes, so an update can XOR it out. */
  private readonly keyDigests = new Map<string, Digest>();

  /** Records that `storageKey` now holds the version with this fingerprint (or nothing). */
  set(storageKey: string, fingerprint: string | undefined): void {
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
    return sha1Hex(this.segments.map(([high, low]) => `${high}.${low}`).join(","));
  }

  segmentHashes(): string[] {
    return this.segments.map(([high, low]) => `${high.toString(16)}.${low.toString(16)}`);
  }

  /** Every key of one segment with its digest, for the last step of an exchange. */
  keysOf(segment: number): Record<string, string> {
    const keys: Record<string, string> = {};
    for (const [key, value] of this.keyDigests) {
      if (segmentOf(key) === segment)
        keys[key] = `${value[0].toString(16)}.${value[1].toString(16)}`;
    }
    return keys;
  }

  /** Every key in this partition, sorted. */
  keys(): string[] {
    return [...this.keyDigests.keys()].sort();
  }

  get keyCount(): number {
    return this.keyDigests.size;
  }
}
