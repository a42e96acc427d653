// Lab 05, systems that never stop: you need at least two computers. The file you write.
//
// Part 1, sloppy quorum. A write goes to the key's N primaries. When a primary is down, Dynamo
// does not refuse the write: the next healthy node on the ring (a fallback) keeps it on the
// primary's behalf, with a hint naming the primary, and hands it over when the primary is back
// (hinted handoff). The coordinator asks your function where each of the N copies goes.
//
// Part 2, choosing N, R and W for a 5-node cluster. The targets:
//   - durability: an acknowledged write survives any one node crashing, even a crash that
//     loses every write that node had not yet synced to disk;
//   - read your writes: with no fault, a read that starts after a write was acknowledged sees it;
//   - availability: with any one node down, at least 95% of requests succeed;
//   - cost: no key is stored more than 5 times.
//
// Grade it: npx neverstop lab 05      (the reference: npx neverstop lab 05 --solution)

import type { SloppyQuorumInput, WriteTarget } from "../../../cluster/core/policies.ts";

/**
 * One target per primary, in the primaries' order:
 * - a primary believed up (`isUp(primary)`) is its own target: `{ node: primary }`;
 * - a primary believed down is replaced by a fallback believed up that is not a target yet,
 *   taken in `fallbacks` order: `{ node: fallback, hintFor: primary }`. The hint is how the
 *   fallback knows whose write it keeps and where to hand it over;
 * - with no such fallback left, the primary stays (the write to it will fail);
 * - with `pw` equal to the number of primaries (strict quorum), only primaries count, so the
 *   targets stay the primaries.
 * The subtle point: a node is never a target twice. Two copies on one node are one copy.
 */
export function sloppyQuorumTargets(input: SloppyQuorumInput): WriteTarget[] {
  throw new Error(
    `sloppyQuorumTargets is not written yet (primaries ${input.primaries.join(", ")})`,
  );
}

/** Part 2: N (replicas per key), R (replies a read waits for), W (acknowledgements a write
 * waits for), chosen for the targets above. */
export const replication = { n: 0, r: 0, w: 0 };
