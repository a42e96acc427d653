// Every lab with all its checks, the node-only ones included (the CLI and the vitest graders).
import type { Lab } from "./lab.ts";
import { labs } from "./registry.ts";
import { nodeChecksA } from "./registry-a.node.ts";
import { nodeChecksB } from "./registry-b.node.ts";

const nodeChecks = { ...nodeChecksA, ...nodeChecksB };

export const nodeLabs: Lab[] = labs.map((lab) => {
  const extra = nodeChecks[lab.definition.id];
  return extra === undefined ? lab : lab.withChecks(extra);
});
