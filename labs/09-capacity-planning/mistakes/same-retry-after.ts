// Mistake: every refusal says "come back in 200 ms". The clients refused in the same burst
// all return in the same millisecond, and the node refuses them again, together.
import type { AdmissionDecision, AdmissionInput } from "../../../cluster/core/policies.ts";

export function admit(input: AdmissionInput): AdmissionDecision {
  if (
    input.requestsAwaiting < input.requestsInFlightMax &&
    input.partitionRequestsAwaiting < input.partitionRequestsInFlightMax
  )
    return { admit: true };
  return { admit: false, detail: "busy; retry later", retryAfterMs: 200 };
}
