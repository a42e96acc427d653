// Lab 04 mistake: the preference list takes the owners of the next N partitions, without
// skipping a node it has met already. Where two nearby partitions share an owner, the key gets
// two "replicas" on one node and one replica fewer than N.

import type { ClaimInput } from "../../../cluster/core/policies.ts";
import { partitionOf, type PreferenceList, type Ring } from "../../../cluster/core/ring.ts";
import type { NodeId } from "../../../cluster/core/types.ts";

export function claim({ members, partitionCount, targetN }: ClaimInput): NodeId[] {
  const spacing = Math.min(targetN, members.length);
  const floor = Math.floor(partitionCount / members.length);
  const extra = partitionCount % members.length;
  const owners: number[] = new Array<number>(partitionCount).fill(-1);
  const counts = new Array<number>(members.length).fill(0);
  let steps = 0;
  const allowed = (position: number, node: number) => {
    for (let distance = 1; distance < spacing; distance += 1) {
      if (owners[(position - distance + partitionCount) % partitionCount] === node) return false;
      if (owners[(position + distance) % partitionCount] === node) return false;
    }
    return true;
  };
  const place = (position: number): boolean => {
    if (position === partitionCount) return true;
    const atCeiling = counts.filter((count) => count > floor).length;
    const candidates = members
      .map((_, node) => node)
      .filter((node) => counts[node]! < floor || (counts[node] === floor && atCeiling < extra))
      .sort((left, right) => counts[left]! - counts[right]! || left - right);
    for (const node of candidates) {
      if (!allowed(position, node) || (steps += 1) > 20_000) continue;
      owners[position] = node;
      counts[node]! += 1;
      if (place(position + 1)) return true;
      owners[position] = -1;
      counts[node]! -= 1;
    }
    return false;
  };
  if (!place(0))
    return Array.from({ length: partitionCount }, (_, index) => members[index % members.length]!);
  return owners.map((node) => members[node]!);
}

export function preferenceList(ring: Ring, keyHash: bigint, replicaCount: number): PreferenceList {
  const start = partitionOf(keyHash, ring.partitionCount);
  const primaries: PreferenceList["primaries"] = [];
  const fallbacks: NodeId[] = [];
  const seen = new Set<NodeId>();
  for (let step = 0; step < ring.partitionCount; step += 1) {
    const partition = (start + step) % ring.partitionCount;
    const node = ring.owners[partition]!;
    seen.add(node);
    if (primaries.length < replicaCount) primaries.push({ node, partition });
    else fallbacks.push(node);
  }
  return { primaries, fallbacks };
}
