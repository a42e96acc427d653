// Plugging a learner's functions into the nodes (every cluster lab): the same functions go to
// the simulator as an object and to real node processes as a module they load. The module is
// generated: it imports the learner's file by its absolute URL and exports `policies`
// (cluster/core/policies.ts's PolicyOverrides) built from it:
//
//   import * as learner from "file:///home/me/neverstop/labs/02-you-copy-state/starter/quorum.ts";
//   export const policies = { writeQuorum: learner.writeQuorum, readQuorum: learner.readQuorum };
//
// No Node built-ins: the browser passes `value` only (no learner file on disk there).

import type { PolicyOverrides } from "../../cluster/core/policies.ts";
import type { ClusterPolicies } from "./lab.ts";

/** Policies whose module re-exports some of the learner's functions under policy names:
 * `{ writeQuorum: "writeQuorum" }` maps the policy to the learner's export. */
export function learnerPolicies(
  value: PolicyOverrides,
  learnerFile: string | undefined,
  exportsByPolicy: Record<string, string>,
): ClusterPolicies {
  if (learnerFile === undefined) return { value };
  const entries = Object.entries(exportsByPolicy)
    .map(([policy, name]) => `  ${policy}: learner.${name},`)
    .join("\n");
  return {
    value,
    moduleSource: `${importLearner(learnerFile)}\nexport const policies = {\n${entries}\n};\n`,
  };
}

/** `import * as learner from "<file URL>";` for a generated module. */
export function importLearner(learnerFile: string): string {
  const slashes = learnerFile.replaceAll("\\", "/");
  const url = `file://${slashes.startsWith("/") ? "" : "/"}${encodeURI(slashes)}`;
  return `import * as learner from ${JSON.stringify(url)};`;
}
