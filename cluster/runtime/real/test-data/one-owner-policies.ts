// A lab's policies file, as the policies test loads it into the simulator and into real node
// processes (cluster/core/policies.ts): a claim that puts every partition on the first member
// (visible in GET /ring), and a sibling resolver that throws for the bucket "boom" (a policy
// that fails inside a running node fails that one request, never the node).
import type { PolicyOverrides } from "../../../core/policies.ts";

export const policies: PolicyOverrides = {
  claim: ({ members, partitionCount }) => new Array<string>(partitionCount).fill(members[0]!),
  resolveSiblings: {
    causal: (siblings, { bucket }) => {
      if (bucket === "boom") throw new Error("the boom bucket refuses to be read");
      return siblings;
    },
  },
};
