// Lab 08, scaling out: rebalancing the ring when a node joins or leaves.
// The ring has Q partitions; owners[i] is the node that owns partition i. When the members
// change (a node joins, or leaves), every node calls this function with the owners before the
// change and the new members, and adopts the answer: partitions whose owner changed are
// handed over, key by key, to their new owner while the cluster keeps serving.
//
// Contract (the grader checks each line):
// - Return Q owners (the same length as `currentOwners`), each one of `members`.
// - Balance: every member owns floor(Q/S) or ceil(Q/S) partitions (S = members.length).
// - Least movement: change as few owners as that balance allows. A joining node takes its
//   share from the others; a leaving node's partitions go to the rest; nothing else moves.
// - Deterministic: every node computes the same answer from the same input (no randomness,
//   no clock; `members` arrives sorted).
// THE SUBTLE POINT: which members get the ceil(Q/S)? Give it to those that own the most
// already; any other choice moves partitions that did not need to move.
import type { NodeId } from "../../../cluster/core/types.ts";

export function rebalance(currentOwners: readonly NodeId[], members: readonly NodeId[]): NodeId[] {
  void currentOwners;
  void members;
  throw new Error("rebalance is not written yet");
}
