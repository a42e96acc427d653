// Lab 02 mistake: never gives up. A write that can no longer reach W waits for the node's
// timeout (504) instead of failing at once (503): the client waits a second to learn nothing.

import type { QuorumVerdict, ReadTally, WriteTally } from "../../../cluster/core/policies.ts";

export function writeQuorum(tally: WriteTally): QuorumVerdict {
  const { w, pw, acknowledged } = tally;
  const primariesPossible = tally.primariesAcknowledged + tally.primariesPending;
  if (primariesPossible < pw)
    return {
      kind: "unavailable",
      detail: `only ${primariesPossible} primaries can still answer; PW=${pw}`,
    };
  if (acknowledged >= w && tally.primariesAcknowledged >= pw) return { kind: "ok" };
  return { kind: "pending" };
}

export function readQuorum(tally: ReadTally): QuorumVerdict {
  const { r, replicaCount, answered, failed } = tally;
  if (answered >= r) return { kind: "ok" };
  if (answered + (replicaCount - answered - failed) < r)
    return { kind: "unavailable", detail: `only ${answered} of ${replicaCount} answered; R=${r}` };
  return { kind: "pending" };
}
