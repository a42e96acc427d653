// Mistake: a joining node takes its whole share from the first member, and a leaving node's
// partitions all go to the first member left. Little movement, but one node ends up with far
// more (or far less) than its share.
import type { NodeId } from "../../../cluster/core/types.ts";

export function rebalance(currentOwners: readonly NodeId[], members: readonly NodeId[]): NodeId[] {
  const owners = currentOwners.map((owner) => (members.includes(owner) ? owner : members[0]!));
  const newcomers = members.filter((member) => !currentOwners.includes(member));
  const share = Math.floor(owners.length / members.length);
  for (const newcomer of newcomers) {
    const donor = owners[0]!;
    let taken = 0;
    owners.forEach((owner, partition) => {
      if (owner === donor && taken < share) {
        owners[partition] = newcomer;
        taken += 1;
      }
    });
  }
  return owners;
}
