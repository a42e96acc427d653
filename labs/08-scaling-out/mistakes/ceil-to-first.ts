// Mistake: balanced, but the extra partitions (Q mod S of them) go to the first members by
// name instead of to those that own the most already. Some member that already held
// ceil(Q/S) must give one up while another takes one: moves that did not need to happen.
import type { NodeId } from "../../../cluster/core/types.ts";

export function rebalance(currentOwners: readonly NodeId[], members: readonly NodeId[]): NodeId[] {
  const floor = Math.floor(currentOwners.length / members.length);
  const extra = currentOwners.length % members.length;
  const targets = new Map(members.map((member, rank) => [member, floor + (rank < extra ? 1 : 0)]));
  const kept = new Map<NodeId, number>(members.map((member) => [member, 0]));
  const owners = [...currentOwners];
  const free: number[] = [];
  owners.forEach((owner, partition) => {
    if (!targets.has(owner) || kept.get(owner)! >= targets.get(owner)!) free.push(partition);
    else kept.set(owner, kept.get(owner)! + 1);
  });
  for (const partition of free) {
    const needy = members.find((member) => kept.get(member)! < targets.get(member)!)!;
    owners[partition] = needy;
    kept.set(needy, kept.get(needy)! + 1);
  }
  return owners;
}
