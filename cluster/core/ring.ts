// The Dynamo ring (lesson 4, "the Dynamo ring of vnodes"). Every key hashes to a point on a
// circle of 2^160 points (SHA-1's output), the circle is cut into Q equal partitions, and each
// partition is owned by one node (claim.ts decides which). The replicas of a key live on the
// first N distinct nodes met walking clockwise from the key's partition: its preference list.
//
//   hashKey("users", "alice") = 0xdcdba07b...    Q = 8: each partition is 2^157 points wide
//   partition = top log2(8) = 3 bits = 0b110 = 6
//   owners    = [a, b, c, d, e, a, b, c]
//   walk from 6:  b (6), c (7), a (0) -> primaries, N = 3; then d, e -> fallbacks
//
// Key hashes are bigints (0 <= hash < 2^160): exact, ordered like the ring itself, and
// printable as the hex digest with `hash.toString(16).padStart(40, "0")`. They stay inside a
// node; messages carry the bucket and key, never the hash.

import { claim, targetNMax, validatePartitionCount } from "./claim.ts";
import { sha1Hex, sha1Words } from "./sha1.ts";
import type { NodeId } from "./types.ts";

export { nodeCountMax, partitionCountMax, partitionCountMin, targetNMax } from "./claim.ts";
export const partitionCountDefault = 64;
export const keyspaceBits = 160;
/** The number of points on the ring: 2^160. */
export const keyspaceSize = 1n << BigInt(keyspaceBits);
/** Replicas per key; more than the nodes is allowed (you get one per node). */
export const replicaCountMax = targetNMax;

export interface Ring {
  /** Q: a power of two from 8 to 1024. */
  partitionCount: number;
  /** owners[i] is the node that owns partition i. */
  owners: NodeId[];
  /** Bumped by whoever changes ownership, so gossip can tell the newer ring. */
  version?: number;
}

export interface PreferenceList {
  /** The first N distinct owners clockwise from the key's partition, each with the partition
   * where the walk found it: these nodes hold the key's replicas. */
  primaries: Array<{ node: NodeId; partition: number }>;
  /** Every other node, in the order the walk met them: who stands in for an unreachable
   * primary (sloppy quorum, hinted handoff). */
  fallbacks: NodeId[];
}

/** The position of a key on the ring: SHA-1 of the UTF-8 of `${bucket}/${key}`. Bucket names
 * containing "/" could collide with keys containing "/" ("a/b" + "c" vs "a" + "b/c"); that
 * only matters if buckets allow "/", and both land on the same place consistently anyway. */
export function hashKey(bucket: string, key: string): bigint {
  return BigInt(`0x${sha1Hex(`${bucket}/${key}`)}`);
}

/** The partition whose range holds `hash`: partition i covers [i * 2^160 / Q, (i+1) * 2^160 / Q),
 * so it is the top log2(Q) bits of the hash. */
export function partitionOf(hash: bigint, partitionCount: number): number {
  validatePartitionCount(partitionCount);
  validateHash(hash);
  const partitionBits = Math.log2(partitionCount);
  return Number(hash >> BigInt(keyspaceBits - partitionBits));
}

/** partitionOf(hashKey(bucket, key), partitionCount) without the 160-bit number: log2(Q) is at
 * most 10 bits (Q <= 1024), and the top bits of the hash are the top bits of SHA-1's first
 * 32-bit word. The node calls this on every write (to find the key's anti-entropy tree), where
 * building a bigint from 40 hex digits would cost more than the hash itself. */
export function partitionOfKey(bucket: string, key: string, partitionCount: number): number {
  validatePartitionCount(partitionCount);
  const partitionBits = Math.log2(partitionCount);
  return sha1Words(`${bucket}/${key}`)[0]! >>> (32 - partitionBits);
}

/** A ring for `nodes` (in a stable order: the claim depends on it), with every window of
 * `targetN` consecutive partitions on distinct nodes where the node count allows. */
export function createRing(
  nodes: NodeId[],
  partitionCount: number = partitionCountDefault,
  targetN: number = 3,
): Ring {
  return { partitionCount, owners: claim(nodes, partitionCount, targetN), version: 1 };
}

/** Walk clockwise from the key's partition: the first `replicaCount` distinct owners are the
 * primaries, the remaining distinct nodes the fallbacks. With fewer nodes than
 * `replicaCount`, every node is a primary and there are no fallbacks; a node that owns no
 * partition (more nodes than Q) is on neither list. */
export function preferenceList(ring: Ring, keyHash: bigint, replicaCount: number): PreferenceList {
  validateRing(ring);
  if (!Number.isSafeInteger(replicaCount) || replicaCount < 1 || replicaCount > replicaCountMax) {
    throw new RangeError(
      `Expected \`replicaCount\` to be an integer from 1 to ${replicaCountMax}, got ${String(replicaCount)}`,
    );
  }
  const start = partitionOf(keyHash, ring.partitionCount);
  const primaries: PreferenceList["primaries"] = [];
  const fallbacks: NodeId[] = [];
  const seen = new Set<NodeId>();
  for (let step = 0; step < ring.partitionCount; step += 1) {
    const partition = (start + step) % ring.partitionCount;
    const node = ring.owners[partition]!;
    if (seen.has(node)) continue;
    seen.add(node);
    if (primaries.length < replicaCount) primaries.push({ node, partition });
    else fallbacks.push(node);
  }
  return { primaries, fallbacks };
}

function validateHash(hash: bigint): void {
  if (typeof hash !== "bigint" || hash < 0n || hash >= keyspaceSize) {
    const got = typeof hash === "bigint" ? `0x${hash.toString(16)}` : typeof hash;
    throw new RangeError(`Expected \`keyHash\` to be a bigint from 0 to 2^160 - 1, got ${got}`);
  }
}

function validateRing(ring: Ring): void {
  validatePartitionCount(ring.partitionCount);
  if (!Array.isArray(ring.owners) || ring.owners.length !== ring.partitionCount) {
    const got = Array.isArray(ring.owners) ? ring.owners.length : typeof ring.owners;
    throw new RangeError(
      `Expected \`ring.owners\` to hold \`partitionCount\` (${ring.partitionCount}) owners, got ${got}`,
    );
  }
}
