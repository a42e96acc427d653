// Lab 09, capacity planning: the admission policy (load regulation and back pressure).
// Every client request a node receives asks this function first: take it, or refuse it at
// once with a 503 `overload` that says when to come back (`retryAfterMs`; over HTTP the
// Retry-After header). The node runs whatever you return, in the simulator and in real
// processes (cluster/core/policies.ts's `admit`).
//
// Contract (the grader checks each line):
// - Admit while the node waits on fewer than `requestsInFlightMax` requests AND the key's
//   partition on fewer than `partitionRequestsInFlightMax`.
// - Refuse at either budget: one hot key range must not take the whole node's budget.
// - A refusal carries a one-line `detail` and `retryAfterMs` from 100 to 1000, drawn with
//   `input.random()` so that the clients you refuse together do not all come back together.
//   Draw only when refusing: every draw changes what the simulator does next.
// THE SUBTLE POINT: refuse, do not queue. A node that accepts everything keeps every request
// in memory and answers each one later and later; past the clients' timeout it works only for
// requests nobody waits for any more. A fast "no" keeps the "yes" answers fast.
import type { AdmissionDecision, AdmissionInput } from "../../../cluster/core/policies.ts";

export function admit(input: AdmissionInput): AdmissionDecision {
  void input;
  throw new Error("admit is not written yet");
}
