// Lab 04 mistake: deals partitions round-robin, like cards. Balanced, and spaced everywhere
// except at the wrap: with Q = 16 and 5 nodes, partition 15 and partition 0 both go to n1, so
// the keys of partition 15 keep two of their three replicas on one machine.

import type { ClaimInput } from "../../../cluster/core/policies.ts";
import { partitionOf, type PreferenceList, type Ring } from "../../../cluster/core/ring.ts";
import type { NodeId } from "../../../cluster/core/types.ts";

export function claim({ members, partitionCount }: ClaimInput): NodeId[] {
  return Array.from(
    { length: partitionCount },
    (_, partition) => members[partition % members.length]!,
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
