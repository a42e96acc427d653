// Lab 05 mistake: never uses a fallback ("only the owners may hold a key"). That is a strict
// quorum: while a primary is down, a write that needs all N of them cannot succeed anywhere.

import type { SloppyQuorumInput, WriteTarget } from "../../../cluster/core/policies.ts";

export function sloppyQuorumTargets({ primaries }: SloppyQuorumInput): WriteTarget[] {
  return primaries.map((node) => ({ node }));
}

export const replication = { n: 3, r: 2, w: 2 };
