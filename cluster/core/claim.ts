// Claim: which node owns which partition of the ring (lesson 4, "the Dynamo ring of vnodes").
// The keyspace is cut into Q equal partitions (vnodes); claim hands them out to the S nodes.
// A good claim has two properties, the two Riak's claim (riak_core) has always aimed for:
//
// - Balance: every node owns floor(Q/S) or ceil(Q/S) partitions, so no node does more work.
// - Spacing: any N consecutive partitions (cyclically: after Q-1 comes 0) belong to N distinct
//   nodes, so the N replicas of a key (its preference list) sit on N different machines.
//
// Dealing partitions round-robin like cards gives both, except at the wrap. With Q = 16, S = 5:
//
//   partition  0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 | 0  1
//   owner      a  b  c  d  e  a  b  c  d  e  a  b  c  d  e  a | a  b   <- a, a: two replicas
//                                                                         on one machine
// so claim places partitions one at a time and never gives a partition to a node that owns one
// of the N-1 partitions before it or (near the end) one of the first partitions after the wrap.
// Among the nodes allowed it prefers the one with the fewest partitions, then the one used
// least recently, then the first in the member list; that reproduces round-robin until the tail
// and there picks "c" for partition 15 above. When that greedy choice leads into a dead end, a
// depth-first search backtracks, within `claimSearchStepsMax` steps.
//
// Spacing is not always possible. Then claim keeps balance and places each partition on the
// allowed node that repeats least (greedy: for 3 nodes and Q = 8 a test checks that this is the
// fewest violations there can be). Three cases:
// - fewer nodes than N: windows of S partitions are spaced instead (N is capped at S);
// - a node that owns ceil(Q/S) partitions needs N partitions between each of its own, so
//   ceil(Q/S) * N <= Q is necessary. With S == N and Q mod S != 0 (3 nodes, Q = 64) it fails:
//   every window of 3 would be a permutation of the 3 nodes, forcing period 3, and 3 does not
//   divide 64; then N - 1 windows at the wrap repeat a node. It also fails for some S > N:
//   Q = 8, S = 6, N = 5 would need 2 * 5 <= 8;
// - the search runs out of steps. A claim from scratch only searches when S < 2N - 1 and
//   0 < Q mod S < N; measured, it finds a spaced claim for every N <= 5 and S <= 40 where the
//   condition above holds, and gives up on some with N >= 6 (S = 7, N = 6, Q = 64).
// claimViolations() lists what remains; the lab prints it.
//
// Deterministic: the same members in the same order, Q and N give the same owners everywhere.

import type { NodeId } from "./types.ts";

export const partitionCountMin = 8;
export const partitionCountMax = 1024;
export const targetNMax = 16;
export const nodeCountMax = 256;
/** Placements the backtracking search may try before it settles for fewest violations. */
export const claimSearchStepsMax = 20_000;

/** Owners by partition: owners[i] is the node that owns partition i. */
export function claim(nodes: NodeId[], partitionCount: number, targetN: number): NodeId[] {
  validateNodes(nodes);
  validatePartitionCount(partitionCount);
  validateTargetN(targetN);
  return claimNear(nodes, new Array<NodeId | undefined>(partitionCount).fill(undefined), targetN);
}

/** Every window of `targetN` consecutive partitions (cyclically) that repeats a node. */
export function claimViolations(
  owners: NodeId[],
  targetN: number,
): Array<{ start: number; owners: NodeId[] }> {
  const windowLength = Math.min(targetN, owners.length);
  const violations: Array<{ start: number; owners: NodeId[] }> = [];
  for (let start = 0; start < owners.length; start += 1) {
    const window = windowAt(owners, start, windowLength);
    if (new Set(window).size < window.length) violations.push({ start, owners: window });
  }
  return violations;
}

/** Where each partition's owner would be after the members change to `nodes` (one joins,
 * leaves, or both), moving as few partitions as balance allows (riak_core claim v2's spirit).
 *
 * Every node's target is floor(Q/S) or ceil(Q/S); the ceil goes to the nodes that own the most
 * already, so that joining nodes get floor(Q/S) and nobody gives up more than it must. The moves
 * are exactly the surplus: the partitions of departed nodes plus what each node owns above its
 * target. Each move goes to the node furthest below its target and takes, from a node with
 * surplus, the partition whose move breaks the fewest windows of `targetN` (or repairs some).
 *
 * Moves alone cannot always keep the spacing. 2 nodes -> 3 with N = 3: alternating a b a b
 * cannot become a b c a b c by moving only a third. A leave is the usual case: in
 * "a b c d e f a b c ..." the partition c leaves behind sits between a, b and d, e, so only f
 * may take it, and f cannot take them all. Then rebalance claims again, preferring at every
 * partition its current owner where spacing and balance allow: more moves, fewer than a claim
 * from scratch, and every window of N still on distinct nodes. Safety first: distinct
 * replicas are worth the extra handoff. It returns whichever of the two has fewer violations,
 * then fewer moves. */
export function rebalance(currentOwners: NodeId[], nodes: NodeId[], targetN: number): NodeId[] {
  validatePartitionCount(currentOwners.length);
  const notNode = currentOwners.find((owner) => typeof owner !== "string" || owner.length === 0);
  if (notNode !== undefined) {
    throw new RangeError(
      `Expected every owner in \`currentOwners\` to be a node name, got ${JSON.stringify(notNode)}`,
    );
  }
  validateNodes(nodes);
  validateTargetN(targetN);
  const spacing = Math.min(targetN, nodes.length);
  const moved = moveSurplus(currentOwners, nodes, spacing);
  if (claimViolations(moved, spacing).length === 0) return moved;
  const reclaimed = claimNear(nodes, currentOwners, targetN);
  const cost = (owners: NodeId[]) => [
    claimViolations(owners, spacing).length,
    owners.filter((owner, index) => owner !== currentOwners[index]).length,
  ];
  const [movedCost, reclaimedCost] = [cost(moved), cost(reclaimed)];
  const reclaimedBetter =
    reclaimedCost[0]! < movedCost[0]! ||
    (reclaimedCost[0] === movedCost[0] && reclaimedCost[1]! < movedCost[1]!);
  return reclaimedBetter ? reclaimed : moved;
}

export function validatePartitionCount(partitionCount: number): void {
  const powerOfTwo = Number.isSafeInteger(partitionCount) && partitionCount > 0;
  if (
    !powerOfTwo ||
    (partitionCount & (partitionCount - 1)) !== 0 ||
    partitionCount < partitionCountMin ||
    partitionCount > partitionCountMax
  ) {
    throw new RangeError(
      `Expected \`partitionCount\` to be a power of two from ${partitionCountMin} to ${partitionCountMax}, got ${String(partitionCount)}`,
    );
  }
}

export function validateTargetN(targetN: number): void {
  if (!Number.isSafeInteger(targetN) || targetN < 1 || targetN > targetNMax) {
    throw new RangeError(
      `Expected \`targetN\` to be an integer from 1 to ${targetNMax}, got ${String(targetN)}`,
    );
  }
}

export function validateNodes(nodes: NodeId[]): void {
  if (!Array.isArray(nodes) || nodes.length < 1 || nodes.length > nodeCountMax) {
    const got = Array.isArray(nodes) ? `${nodes.length} nodes` : typeof nodes;
    throw new RangeError(`Expected \`nodes\` to hold 1 to ${nodeCountMax} nodes, got ${got}`);
  }
  const seen = new Set<NodeId>();
  for (const node of nodes) {
    if (typeof node !== "string" || node.length === 0) {
      throw new RangeError(
        `Expected every node in \`nodes\` to be a non-empty string, got ${JSON.stringify(node)}`,
      );
    }
    if (seen.has(node)) {
      throw new RangeError(`Expected \`nodes\` to be distinct, got ${JSON.stringify(node)} twice`);
    }
    seen.add(node);
  }
}

// ---- The search, on node indexes (-1: not claimed yet). ----

/** The claim, preferring at each partition the node in `preferred` (when rebalancing: the
 * current owner) whenever spacing and balance allow it. */
function claimNear(nodes: NodeId[], preferred: Array<NodeId | undefined>, targetN: number) {
  const partitionCount = preferred.length;
  const search = newSearch(nodes.length, partitionCount, Math.min(targetN, nodes.length));
  search.preferred = preferred.map((node) => (node === undefined ? -1 : nodes.indexOf(node)));
  const spacingPossible =
    search.extra === 0 || (search.floor + 1) * search.spacing <= partitionCount;
  if (!spacingPossible || !placeSpaced(search, 0)) {
    search.owners.fill(-1);
    search.counts.fill(0);
    search.lastUsed.fill(-1);
    search.atCeiling = 0;
    placeFewestViolations(search);
  }
  const owners = search.owners.map((index) => nodes[index]!);
  assertBalanced(owners, nodes);
  return owners;
}

interface Search {
  partitionCount: number;
  spacing: number;
  /** floor(Q/S): every node owns at least this many. */
  floor: number;
  /** Q mod S: how many nodes own one more. */
  extra: number;
  owners: number[];
  /** The node to keep at each partition if allowed, -1 for none. */
  preferred: number[];
  counts: number[];
  lastUsed: number[];
  atCeiling: number;
  steps: number;
}

function newSearch(nodeCount: number, partitionCount: number, spacing: number): Search {
  return {
    partitionCount,
    spacing,
    floor: Math.floor(partitionCount / nodeCount),
    extra: partitionCount % nodeCount,
    owners: new Array<number>(partitionCount).fill(-1),
    preferred: new Array<number>(partitionCount).fill(-1),
    counts: new Array<number>(nodeCount).fill(0),
    lastUsed: new Array<number>(nodeCount).fill(-1),
    atCeiling: 0,
    steps: 0,
  };
}

/** Depth-first: claim `position`, then the rest; false on a dead end or out of steps. */
function placeSpaced(search: Search, position: number): boolean {
  if (position === search.partitionCount) return true;
  for (const node of candidates(search, position)) {
    if (conflicts(search, position, node) > 0) break; // sorted: only conflicting ones follow
    search.steps += 1;
    if (search.steps > claimSearchStepsMax) return false;
    const lastUsed = search.lastUsed[node]!;
    take(search, position, node);
    if (placeSpaced(search, position + 1)) return true;
    if (search.steps > claimSearchStepsMax) return false;
    release(search, position, node, lastUsed);
  }
  return false;
}

/** Greedy without backtracking: each partition goes to the allowed node that repeats least. */
function placeFewestViolations(search: Search): void {
  for (let position = 0; position < search.partitionCount; position += 1) {
    take(search, position, candidates(search, position)[0]!);
  }
}

/** Nodes that may still take a partition without unbalancing, best first. */
function candidates(search: Search, position: number): number[] {
  const allowed: number[] = [];
  search.counts.forEach((count, node) => {
    const belowCeiling = count === search.floor && search.atCeiling < search.extra;
    if (count < search.floor || belowCeiling) allowed.push(node);
  });
  const key = (node: number) => [
    conflicts(search, position, node),
    search.preferred[position] === node ? 0 : 1,
    search.counts[node]!,
    search.lastUsed[node]!,
    node,
  ];
  return allowed.sort((left, right) => {
    const [a, b] = [key(left), key(right)];
    const differs = a.findIndex((value, index) => value !== b[index]);
    return differs === -1 ? 0 : a[differs]! - b[differs]!;
  });
}

/** Claimed partitions closer than `spacing` to `position` (either way, across the wrap) that
 * `node` owns already. Unclaimed partitions hold -1, so only the claimed ones count. */
function conflicts(search: Search, position: number, node: number): number {
  const { owners, partitionCount, spacing } = search;
  let count = 0;
  for (let distance = 1; distance < spacing; distance += 1) {
    if (owners[(position - distance + partitionCount) % partitionCount] === node) count += 1;
    if (owners[(position + distance) % partitionCount] === node) count += 1;
  }
  return count;
}

function take(search: Search, position: number, node: number): void {
  search.owners[position] = node;
  search.counts[node]! += 1;
  if (search.counts[node] === search.floor + 1) search.atCeiling += 1;
  search.lastUsed[node] = position;
}

function release(search: Search, position: number, node: number, lastUsed: number): void {
  if (search.counts[node] === search.floor + 1) search.atCeiling -= 1;
  search.counts[node]! -= 1;
  search.owners[position] = -1;
  search.lastUsed[node] = lastUsed;
}

// ---- Rebalancing. ----

function moveSurplus(currentOwners: NodeId[], nodes: NodeId[], spacing: number): NodeId[] {
  const owners = currentOwners.slice();
  const surplus = new Map<NodeId, number>();
  for (const owner of owners) surplus.set(owner, (surplus.get(owner) ?? 0) + 1);
  const deficit = new Map<NodeId, number>();
  targets(owners, nodes).forEach((target, node) => {
    const owned = surplus.get(node) ?? 0;
    surplus.set(node, owned - target);
    deficit.set(node, target - owned);
  });

  for (let moves = 0; moves < owners.length; moves += 1) {
    const receiver = nodes.reduce((best, node) =>
      deficit.get(node)! > deficit.get(best)! ? node : best,
    );
    if (deficit.get(receiver)! <= 0) break;
    // Fewest windows broken first, then the donor with the largest surplus, then the lowest
    // partition.
    let chosen = -1;
    let chosenChange = Infinity;
    let chosenSurplus = 0;
    for (let partition = 0; partition < owners.length; partition += 1) {
      const donorSurplus = surplus.get(owners[partition]!)!;
      if (donorSurplus <= 0) continue;
      const change = violationChange(owners, partition, receiver, spacing);
      if (change < chosenChange || (change === chosenChange && donorSurplus > chosenSurplus)) {
        chosen = partition;
        chosenChange = change;
        chosenSurplus = donorSurplus;
      }
    }
    surplus.set(owners[chosen]!, surplus.get(owners[chosen]!)! - 1);
    deficit.set(receiver, deficit.get(receiver)! - 1);
    owners[chosen] = receiver;
  }
  assertBalanced(owners, nodes);
  return owners;
}

/** Balance targets: floor(Q/S) each, plus one for the Q mod S nodes that own the most now. */
function targets(owners: NodeId[], nodes: NodeId[]): Map<NodeId, number> {
  const owned = (node: NodeId) => owners.filter((owner) => owner === node).length;
  const byOwned = nodes
    .map((node, order) => ({ node, order, owned: owned(node) }))
    .sort((a, b) => b.owned - a.owned || a.order - b.order);
  const floor = Math.floor(owners.length / nodes.length);
  const extra = owners.length % nodes.length;
  return new Map(byOwned.map(({ node }, rank) => [node, floor + (rank < extra ? 1 : 0)]));
}

// ---- Helpers on owner arrays. ----

function windowAt(owners: NodeId[], start: number, length: number): NodeId[] {
  return Array.from({ length }, (_, offset) => owners[(start + offset) % owners.length]!);
}

/** How many more windows of `spacing` repeat a node once `partition` belongs to `node`. */
function violationChange(owners: NodeId[], partition: number, node: NodeId, spacing: number) {
  const donor = owners[partition]!;
  let nearby = false;
  for (let distance = 1 - spacing; distance < spacing && !nearby; distance += 1) {
    const neighbour = owners[(partition + distance + owners.length) % owners.length];
    nearby = distance !== 0 && (neighbour === node || neighbour === donor);
  }
  // Only windows around `partition` change, and only if either owner is close by: the common
  // case costs 2 * spacing comparisons instead of counting windows.
  if (!nearby) return 0;
  return (
    badWindowsAround(owners, partition, node, spacing) -
    badWindowsAround(owners, partition, donor, spacing)
  );
}

/** Windows of `spacing` that contain `partition` and repeat a node, were `partition` owned by
 * `node`. */
function badWindowsAround(owners: NodeId[], partition: number, node: NodeId, spacing: number) {
  let bad = 0;
  for (let start = partition - spacing + 1; start <= partition; start += 1) {
    let repeats = false;
    for (let left = start; left < start + spacing && !repeats; left += 1) {
      for (let right = left + 1; right < start + spacing && !repeats; right += 1) {
        repeats =
          ownerOr(owners, left, partition, node) === ownerOr(owners, right, partition, node);
      }
    }
    if (repeats) bad += 1;
  }
  return bad;
}

/** The owner of partition `index` (any integer: the ring wraps), reading `node` at `partition`. */
function ownerOr(owners: NodeId[], index: number, partition: number, node: NodeId): NodeId {
  const wrapped = (index + owners.length) % owners.length;
  return wrapped === partition ? node : owners[wrapped]!;
}

function assertBalanced(owners: NodeId[], nodes: NodeId[]): void {
  const members = new Set(nodes);
  const stranger = owners.find((owner) => !members.has(owner));
  if (stranger !== undefined) throw new Error(`claim left a partition with ${stranger}`);
  const floor = Math.floor(owners.length / nodes.length);
  for (const node of nodes) {
    const owned = owners.filter((owner) => owner === node).length;
    if (owned < floor || owned > floor + 1) {
      throw new Error(
        `claim is unbalanced: ${node} owns ${owned}, expected ${floor} or ${floor + 1}`,
      );
    }
  }
}
