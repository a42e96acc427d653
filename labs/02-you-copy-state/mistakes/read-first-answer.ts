// Lab 02 mistake: the read answers with the first reply (R = 1 whatever R says). A read right
// after a W = 2 write may ask the one replica that has not got it yet.

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
  if (acknowledged >= w && tally.primariesAcknowledged >= pw) return { kind: "ok" };
  if (acknowledged + stillPossible < w)
    return {
      kind: "unavailable",
      detail: `only ${acknowledged} of ${targetCount} acknowledged; W=${w}`,
    };
  return { kind: "pending" };
}

export function readQuorum(tally: ReadTally): QuorumVerdict {
  const { r, replicaCount, answered, failed } = tally;
  if (answered >= 1) return { kind: "ok" };
  if (answered + (replicaCount - answered - failed) < r)
    return { kind: "unavailable", detail: `only ${answered} of ${replicaCount} answered; R=${r}` };
  return { kind: "pending" };
}
