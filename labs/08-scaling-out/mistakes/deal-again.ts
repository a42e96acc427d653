// Mistake: deal the partitions round-robin again, as for a new ring. Perfectly balanced, and
// nearly every partition changes owner: a join moves most of the data in the cluster.
import type { NodeId } from "../../../cluster/core/types.ts";

export function rebalance(currentOwners: readonly NodeId[], members: readonly NodeId[]): NodeId[] {
  return currentOwners.map((_, partition) => members[partition % members.length]!);
}
