// Lab 08's reference rebalance (the contract is in the starter): each member's target is
// floor(Q/S) or ceil(Q/S), the ceil going to those that own the most already; the partitions
// that must move are exactly those of departed nodes and each member's surplus over its target;
// each goes to the member furthest below its target.
import type { NodeId } from "../../../cluster/core/types.ts";

export function rebalance(currentOwners: readonly NodeId[], members: readonly NodeId[]): NodeId[] {
  const partitionCount = currentOwners.length;
  const floor = Math.floor(partitionCount / members.length);
  const extra = partitionCount % members.length;
  const counts = new Map<NodeId, number>(members.map((member) => [member, 0]));
  for (const owner of currentOwners)
    if (counts.has(owner)) counts.set(owner, counts.get(owner)! + 1);
  // Most owned first (ties: member order): they keep the extra partition.
  const byCount = [...members].sort((a, b) => counts.get(b)! - counts.get(a)!);
  const targets = new Map(byCount.map((member, rank) => [member, floor + (rank < extra ? 1 : 0)]));
  const owners = [...currentOwners];
  const kept = new Map<NodeId, number>(members.map((member) => [member, 0]));
  const free: number[] = [];
  owners.forEach((owner, partition) => {
    if (!targets.has(owner) || kept.get(owner)! >= targets.get(owner)!) free.push(partition);
    else kept.set(owner, kept.get(owner)! + 1);
  });
  for (const partition of free) {
    let neediest = members[0]!;
    for (const member of members) {
      const need = targets.get(member)! - kept.get(member)!;
      if (need > targets.get(neediest)! - kept.get(neediest)!) neediest = member;
    }
    owners[partition] = neediest;
    kept.set(neediest, kept.get(neediest)! + 1);
  }
  return owners;
}
