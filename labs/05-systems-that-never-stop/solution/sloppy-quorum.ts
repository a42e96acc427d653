// Lab 05, systems that never stop (reference solution). Each primary believed down gets the next
// healthy fallback not used yet, with a hint naming the primary. N = 3, R = 2, W = 2: two copies
// of every acknowledged write (one crash loses at most one), R + W > N (a read quorum meets
// every write quorum), and with one node down two replies are still there for every key.

import type { SloppyQuorumInput, WriteTarget } from "../../../cluster/core/policies.ts";

export function sloppyQuorumTargets({
  primaries,
  fallbacks,
  isUp,
  pw,
}: SloppyQuorumInput): WriteTarget[] {
  if (pw >= primaries.length || primaries.every(isUp)) return primaries.map((node) => ({ node }));
  const spare = fallbacks.filter(isUp);
  return primaries.map((node) => {
    if (isUp(node)) return { node };
    const fallback = spare.shift();
    return fallback === undefined ? { node } : { node: fallback, hintFor: node };
  });
}

export const replication = { n: 3, r: 2, w: 2 };
