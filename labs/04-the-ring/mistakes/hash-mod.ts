// Lab 04 mistake: each partition goes to members[hash(partition) mod S]. It looks random and
// fair, but nothing balances it: some node owns far more than Q/S partitions (and does that
// much more of the work).

import type { ClaimInput } from "../../../cluster/core/policies.ts";
import { partitionOf, type PreferenceList, type Ring } from "../../../cluster/core/ring.ts";
import type { NodeId } from "../../../cluster/core/types.ts";

export function claim({ members, partitionCount }: ClaimInput): NodeId[] {
  return Array.from({ length: partitionCount }, (_, partition) => {
    const hash = Math.imul(partition + 7, 0x9e3779b1) >>> 0;
    return members[(hash >>> 13) % members.length]!;
  });
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
