// Lab 04, the ring: hash(SessionId) -> key range -> vnode -> node. The file you write.
//
// The keyspace is a circle of 2^160 points (SHA-1), cut into Q equal partitions (vnodes). The
// talk's ring: 32 vnodes on 4 nodes, 8 each. `claim` says which node owns each partition;
// `preferenceList` says which N nodes hold a key's replicas. The nodes run both on every
// request, so your ring answers real requests.
//
//   partition of a key = the top log2(Q) bits of its hash: partitionOf(keyHash, Q) in ring.ts
//   owners   = [n1, n2, n3, n4, n1, n2, ...]        (claim: owners[i] owns partition i)
//   walk clockwise from the key's partition: the first N DISTINCT owners are the primaries,
//   every other node (in the order the walk meets it) is a fallback
//
// Grade it: npx neverstop lab 04      (the reference: npx neverstop lab 04 --solution)

import type { ClaimInput } from "../../../cluster/core/policies.ts";
import { partitionOf, type PreferenceList, type Ring } from "../../../cluster/core/ring.ts";
import type { NodeId } from "../../../cluster/core/types.ts";

/**
 * Owners by partition: `partitionCount` entries, each one of `members`.
 * Two properties, the ones riak_core's claim aims for:
 * - balance: every member owns floor(Q/S) or ceil(Q/S) partitions (S members);
 * - spacing: any `targetN` consecutive partitions, cyclically (after Q-1 comes 0), belong to
 *   distinct members, so that a key's N replicas sit on N machines.
 * The subtle point is the wrap: dealing partitions round-robin is spaced everywhere except where
 * partition Q-1 meets partition 0. Every node must compute the same owners from the same input
 * (no randomness). `currentOwners` (a join or a leave) is lab 08's business: ignore it here.
 */
export function claim(input: ClaimInput): NodeId[] {
  throw new Error(
    `claim is not written yet (${input.members.length} members, Q=${input.partitionCount})`,
  );
}

/**
 * The key's replicas: walk clockwise from partitionOf(keyHash, Q), skip owners already met;
 * the first `replicaCount` distinct owners are the primaries ({ node, partition } where the walk
 * met them), every other distinct node is a fallback, in the order met. With fewer nodes than
 * `replicaCount`, every node is a primary.
 */
export function preferenceList(ring: Ring, keyHash: bigint, replicaCount: number): PreferenceList {
  void partitionOf;
  throw new Error(
    `preferenceList is not written yet (${ring.partitionCount} partitions, hash ${keyHash}, N=${replicaCount})`,
  );
}
