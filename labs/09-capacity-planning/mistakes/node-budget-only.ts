// Mistake: only the node's budget counts. One hot key range (a viral product page) can take
// every slot of the node, and requests for every other key are refused with it.
import type { AdmissionDecision, AdmissionInput } from "../../../cluster/core/policies.ts";

export function admit(input: AdmissionInput): AdmissionDecision {
  if (input.requestsAwaiting < input.requestsInFlightMax) return { admit: true };
  return {
    admit: false,
    detail: "busy; retry later",
    retryAfterMs: 100 + Math.floor(input.random() * 400),
  };
}
