// Lab 02 mistake: ignores PW. A write asked to reach two primaries (strict quorum) is
// acknowledged when two fallbacks hold it: the client asked for more than it got.

import type { QuorumVerdict, ReadTally, WriteTally } from "../../../cluster/core/policies.ts";

export function writeQuorum(tally: WriteTally): QuorumVerdict {
  const { w, pw, targetCount, acknowledged, failed } = tally;
  const stillPossible = targetCount - acknowledged - failed;
  const primariesPossible = tally.primariesAcknowledged + tally.primariesPending;
  if (primariesPossible < pw)
    return {
      kind: "unavailable",
      detail: `only ${primariesPossible} primaries can still answer; PW=${pw}`,
    };
  if (acknowledged >= w) return { kind: "ok" };
  if (acknowledged + stillPossible < w)
    return {
      kind: "unavailable",
      detail: `only ${acknowledged} of ${targetCount} acknowledged; W=${w}`,
    };
  return { kind: "pending" };
}

export function readQuorum(tally: ReadTally): QuorumVerdict {
  const { r, replicaCount, answered, failed } = tally;
  if (answered >= r) return { kind: "ok" };
  if (answered + (replicaCount - answered - failed) < r)
    return { kind: "unavailable", detail: `only ${answered} of ${replicaCount} answered; R=${r}` };
  return { kind: "pending" };
}
