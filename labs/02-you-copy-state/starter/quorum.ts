// Lab 02, you do not locate state, you copy it. The file you write: the quorum verdicts.
//
// A Dynamo write goes to N replicas at once and a read asks N replicas at once. The
// coordinator does not wait for all of them: it answers the client as soon as W replicas have
// stored the write (R have answered the read), and it gives up (503) as soon as too few
// replicas are left to ever get there. The node asks your function after every reply.
//
// Grade it: npx neverstop lab 02      (the reference: npx neverstop lab 02 --solution)

import type { QuorumVerdict, ReadTally, WriteTally } from "../../../cluster/core/policies.ts";

/**
 * The write's verdict after each acknowledgement or failure:
 * - `ok` once `acknowledged >= w` AND `primariesAcknowledged >= pw` (PW: how many of them must
 *   be primaries; 0 means sloppy quorum, any replica counts);
 * - `unavailable` (with a `detail` for the 503) as soon as W (or PW) can no longer be reached:
 *   the targets that neither acknowledged nor failed are all that can still answer;
 * - `pending` otherwise.
 * The subtle point: a `failed` replica is NOT a vote. It definitely did not store the write; the
 * client must not hear "ok" for a write that exists on fewer than W replicas. And when the
 * write cannot reach W, say so now: a client that waits for a timeout learns nothing more.
 */
export function writeQuorum(tally: WriteTally): QuorumVerdict {
  throw new Error(`writeQuorum is not written yet (${JSON.stringify(tally)})`);
}

/** The read's verdict: `ok` once `answered >= r`; `unavailable` as soon as the replicas that
 * have not failed cannot bring it to R; `pending` otherwise. */
export function readQuorum(tally: ReadTally): QuorumVerdict {
  throw new Error(`readQuorum is not written yet (${JSON.stringify(tally)})`);
}
