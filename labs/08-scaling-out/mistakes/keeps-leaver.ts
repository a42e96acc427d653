// Mistake: a joining node takes its share, but a leaving node's partitions are left where they
// are: they keep an owner that is no longer a member, and the keys in them have no home.
import type { NodeId } from "../../../cluster/core/types.ts";

export function rebalance(currentOwners: readonly NodeId[], members: readonly NodeId[]): NodeId[] {
  const owners = [...currentOwners];
  const share = Math.floor(owners.length / members.length);
  const counts = new Map<NodeId, number>();
  for (const owner of owners) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  for (const newcomer of members.filter((member) => !counts.has(member))) {
    let taken = 0;
    owners.forEach((owner, partition) => {
      if (taken < share && (counts.get(owner) ?? 0) > share) {
        counts.set(owner, counts.get(owner)! - 1);
        owners[partition] = newcomer;
        taken += 1;
      }
    });
  }
  return owners;
}
