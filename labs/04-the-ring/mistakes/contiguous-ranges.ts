// Lab 04 mistake: each node takes one contiguous range of partitions (n1 gets 0-7, n2 8-15,
// ...). Perfectly balanced, and a key's N "distinct" replicas walk into the same node's range:
// most keys have all their primaries on one machine.

import type { ClaimInput } from "../../../cluster/core/policies.ts";
import { partitionOf, type PreferenceList, type Ring } from "../../../cluster/core/ring.ts";
import type { NodeId } from "../../../cluster/core/types.ts";

export function claim({ members, partitionCount }: ClaimInput): NodeId[] {
  const perNode = Math.ceil(partitionCount / members.length);
  return Array.from(
    { length: partitionCount },
    (_, partition) => members[Math.floor(partition / perNode)]!,
  );
}

export function preferenceList(ring: Ring, keyHash: bigint, replicaCount: number): PreferenceList {
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
