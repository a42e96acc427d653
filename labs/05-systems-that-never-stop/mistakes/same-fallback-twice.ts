// Lab 05 mistake: every down primary is replaced by THE first healthy fallback. With two
// primaries down, one node is asked for two copies: it stores one, and W counts two.

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
    const fallback = spare[0];
    return fallback === undefined ? { node } : { node: fallback, hintFor: node };
  });
}

export const replication = { n: 3, r: 2, w: 2 };
