// Lab 02, you do not locate state, you copy it (reference solution): the quorum verdicts.
// A write is done when W distinct replicas have it (and PW of them are primaries); it is hopeless
// as soon as the replicas still able to answer cannot bring it to W. A read is the same with R.

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
  if (answered >= r) return { kind: "ok" };
  if (answered + (replicaCount - answered - failed) < r)
    return { kind: "unavailable", detail: `only ${answered} of ${replicaCount} answered; R=${r}` };
  return { kind: "pending" };
}
