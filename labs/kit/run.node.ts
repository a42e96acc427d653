// Where a cluster check runs (every cluster lab; node only): the simulator by default, real
// local processes with `--backend local`, containers with `--backend docker`. Real processes
// cannot take a function over a pipe, so the learner's policies reach them as a module: the
// check gives its source (which imports the learner's file by absolute path), it is written to
// a temporary file and each node loads it.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunOptionsInput } from "../../chaos/harness/run-options.ts";
import { runTest } from "../../chaos/harness/run.ts";
import type { RunResult } from "../../chaos/harness/run-core.ts";
import type { ClusterRunner } from "./grade.ts";
import type { Backend, ClusterPolicies } from "./lab.ts";
import { simulateRun } from "./simulate.ts";

export function clusterRunner(backend: Backend): ClusterRunner {
  if (backend === "sim") return (input, policies, note) => simulateRun(input, policies, note);
  return (input, policies, note) => runReal(backend, input, policies, note);
}

async function runReal(
  backend: Exclude<Backend, "sim">,
  input: RunOptionsInput,
  policies: ClusterPolicies | undefined,
  note: (text: string) => void,
): Promise<RunResult> {
  const folder = mkdtempSync(join(tmpdir(), "neverstop-lab-"));
  try {
    let policiesFile: string | undefined;
    if (policies !== undefined) {
      if (policies.moduleSource === undefined)
        throw new Error("this check cannot run on real processes: its policies have no module");
      policiesFile = join(folder, "policies.ts");
      writeFileSync(policiesFile, policies.moduleSource);
    }
    return await runTest(
      { ...input, backend, policies: policiesFile },
      {
        onProgress: (snapshot) =>
          note(
            `${backend} ${Math.round(snapshot.elapsedMs / 1_000)}/${Math.round(snapshot.totalMs / 1_000)} s, ${snapshot.invoked} ops`,
          ),
      },
    );
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
