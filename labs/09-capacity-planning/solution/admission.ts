// Lab 09's reference admission policy (the contract is in the starter): bounded work on the
// node and on each partition, refused at once with a jittered Retry-After of 100 to 500 ms.
import type { AdmissionDecision, AdmissionInput } from "../../../cluster/core/policies.ts";

const retryAfterMinMs = 100;
const retryAfterMaxMs = 500;

export function admit(input: AdmissionInput): AdmissionDecision {
  const partitionFull = input.partitionRequestsAwaiting >= input.partitionRequestsInFlightMax;
  const nodeFull = input.requestsAwaiting >= input.requestsInFlightMax;
  if (!partitionFull && !nodeFull) return { admit: true };
  const where = partitionFull
    ? `${input.partitionRequestsAwaiting} requests on partition ${input.partition}`
    : `${input.requestsAwaiting} requests`;
  return {
    admit: false,
    detail: `This node already waits on ${where} (the limit); retry later`,
    retryAfterMs:
      retryAfterMinMs + Math.floor(input.random() * (retryAfterMaxMs - retryAfterMinMs)),
  };
}
