// Mistake: no back pressure at all. Every request is taken and kept until it is answered, so
// under overload the node's memory and every answer's wait grow without bound.
import type { AdmissionDecision, AdmissionInput } from "../../../cluster/core/policies.ts";

export function admit(_input: AdmissionInput): AdmissionDecision {
  return { admit: true };
}
