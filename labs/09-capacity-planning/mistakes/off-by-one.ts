// Mistake: `>` where `>=` belongs. The node takes one request more than its budget, and so
// does every partition: the bound is not the bound the operator configured.
import type { AdmissionDecision, AdmissionInput } from "../../../cluster/core/policies.ts";

export function admit(input: AdmissionInput): AdmissionDecision {
  if (
    input.requestsAwaiting <= input.requestsInFlightMax &&
    input.partitionRequestsAwaiting <= input.partitionRequestsInFlightMax
  )
    return { admit: true };
  return {
    admit: false,
    detail: "busy; retry later",
    retryAfterMs: 100 + Math.floor(input.random() * 400),
  };
}
