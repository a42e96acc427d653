// Lab 02 mistake: counts a replica that failed as one that answered ("it replied, didn't
// it?"). A write stored on one replica is acknowledged as if W had it.

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
  if (acknowledged + failed >= w && tally.primariesAcknowledged >= pw) return { kind: "ok" };
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
