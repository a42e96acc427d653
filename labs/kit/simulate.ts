// Running a lab's cluster check on the deterministic simulator (every cluster lab): the same
// SimulatedRun that `neverstop test --backend sim` uses, with the learner's policies plugged
// into every node, advanced in slices so that the progress line can say how far it got.
// No Node built-ins: the course site runs this in a Web Worker.

import { SimulatedRun, type RunResult } from "../../chaos/harness/run-core.ts";
import { resolveRunOptions, type RunOptionsInput } from "../../chaos/harness/run-options.ts";
import type { PolicyOverrides } from "../../cluster/core/policies.ts";
import type { ClusterPolicies } from "./lab.ts";

/** Virtual time between two progress notes. */
const sliceMs = 2_000;

export async function simulateRun(
  input: RunOptionsInput,
  policies: ClusterPolicies | undefined,
  note: (text: string) => void = () => {},
  wallClock: () => number = () => globalThis.performance.now(),
): Promise<RunResult> {
  const options = resolveRunOptions({ ...input, backend: "sim" });
  const startedMs = wallClock();
  const run = new SimulatedRun(options, {
    policies: policies?.value as PolicyOverrides | undefined,
  });
  while (run.advance(sliceMs)) {
    const { elapsedMs, totalMs, invoked, fault } = run.progress();
    note(
      `simulating ${Math.round(elapsedMs / 1_000)}/${Math.round(totalMs / 1_000)} s, ${invoked} ops${fault === undefined ? "" : `, ${fault}`}`,
    );
    // Let a progress display (or a Web Worker's message port) breathe between slices.
    await new Promise<void>((resolve) => globalThis.setTimeout(resolve, 0));
  }
  return run.result(wallClock() - startedMs);
}
