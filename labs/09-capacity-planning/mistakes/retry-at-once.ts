// Mistake: refusals say "retry after 0 ms". Shed load comes straight back: the node spends its
// time refusing the same requests over and over.
import type { AdmissionDecision, AdmissionInput } from "../../../cluster/core/policies.ts";

export function admit(input: AdmissionInput): AdmissionDecision {
  if (
    input.requestsAwaiting < input.requestsInFlightMax &&
    input.partitionRequestsAwaiting < input.partitionRequestsInFlightMax
  )
    return { admit: true };
  return {
    admit: false,
    detail: "busy; retry later",
    retryAfterMs: Math.floor(input.random() * 10),
  };
}
