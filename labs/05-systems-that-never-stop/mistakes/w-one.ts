// Lab 05 mistake: N = 3, R = 1, W = 1, "the fastest". One copy is acknowledged before any other
// replica has it (a crash with sync "never" loses it), and a read of one replica can miss it.

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

export const replication = { n: 3, r: 1, w: 1 };
