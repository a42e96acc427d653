// Membership and ring changes (lesson 8, "scaling out"): a cluster grows and shrinks one node
// at a time. A change computes a new claim that moves as few partitions as it can (claim.ts's
// rebalance), bumps the ring's version, and spreads by gossip: every heartbeat a node sends its
// ring to one random member, and whoever holds an older version adopts the newer one. Two
// changes made at once on different nodes get the same version; the tie is broken the same way
// everywhere (the larger text wins), and a joiner whose join was lost that way simply asks again.
// Pure functions.

import { defaultPolicies, type Policies } from "./policies.ts";
import type { Ring } from "./ring.ts";
import type { NodeId } from "./types.ts";

export interface MemberRing extends Ring {
  version: number;
  /** Every member, sorted; a member may own no partition (more nodes than partitions). */
  members: NodeId[];
}

export function withMember(
  ring: MemberRing,
  node: NodeId,
  targetN: number,
  claim: Policies["claim"] = defaultPolicies.claim,
): MemberRing {
  if (ring.members.includes(node)) return ring;
  const members = [...ring.members, node].sort();
  return {
    partitionCount: ring.partitionCount,
    owners: claim({
      members,
      partitionCount: ring.partitionCount,
      targetN,
      currentOwners: ring.owners,
    }),
    members,
    version: ring.version + 1,
  };
}

export function withoutMember(
  ring: MemberRing,
  node: NodeId,
  targetN: number,
  claim: Policies["claim"] = defaultPolicies.claim,
): MemberRing {
  if (!ring.members.includes(node)) return ring;
  const members = ring.members.filter((member) => member !== node);
  if (members.length === 0) throw new RangeError("Expected at least one member to remain");
  return {
    partitionCount: ring.partitionCount,
    owners: claim({
      members,
      partitionCount: ring.partitionCount,
      targetN,
      currentOwners: ring.owners,
    }),
    members,
    version: ring.version + 1,
  };
}

/** Which of two rings gossip should keep: the higher version, ties broken by content. */
export function newerRing(mine: MemberRing, theirs: MemberRing): MemberRing {
  if (theirs.version !== mine.version) return theirs.version > mine.version ? theirs : mine;
  return JSON.stringify(theirs) > JSON.stringify(mine) ? theirs : mine;
}

/** The first hash of a partition: where its replicas' preference list starts. */
export function partitionStart(partition: number, partitionCount: number): bigint {
  return (BigInt(partition) << 160n) / BigInt(partitionCount);
}

/** The N replicas of every partition, by partition index. */
export function replicasOfPartitions(
  ring: Ring,
  n: number,
  preferenceList: Policies["preferenceList"] = defaultPolicies.preferenceList,
): NodeId[][] {
  return ring.owners.map((_, partition) =>
    preferenceList(ring, partitionStart(partition, ring.partitionCount), n).primaries.map(
      (entry) => entry.node,
    ),
  );
}

/** Checks a ring that came over the network before adopting it. */
export function isWellFormedRing(value: unknown, partitionCount: number): value is MemberRing {
  const ring = value as Partial<MemberRing> | null;
  return (
    typeof ring === "object" &&
    ring !== null &&
    ring.partitionCount === partitionCount &&
    Number.isSafeInteger(ring.version) &&
    Array.isArray(ring.members) &&
    ring.members.every((member) => typeof member === "string") &&
    Array.isArray(ring.owners) &&
    ring.owners.length === partitionCount &&
    ring.owners.every((owner) => ring.members!.includes(owner))
  );
}
