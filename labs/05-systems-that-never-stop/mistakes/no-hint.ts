// Lab 05 mistake: the fallback takes the write, and no hint says for whom. The fallback keeps
// a copy of a key it does not own, and the primary never gets it back (no hinted handoff).

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
    return fallback === undefined ? { node } : { node: fallback };
  });
}

export const replication = { n: 3, r: 2, w: 2 };
