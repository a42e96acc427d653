// Running a test, on any backend (lesson 5, systems that never stop): the one function the
// CLI (`neverstop test`, `neverstop sim`), chaosTest() and the regression suite all call, so a
// verdict in CI is the verdict a learner gets from the replay command.
//
//   sim    the deterministic simulator (run-core.ts): fast, replayable from the seed
//   local  real node processes on 127.0.0.1 (run-local.ts): crash, pause and skew faults, and
//          partitions through a Toxiproxy proxy on every link between nodes
//   docker the same faults on node containers and a Toxiproxy container
//          (chaos/nemesis/docker/run-docker.ts; loaded only when asked for)

import type { PolicyOverrides } from "../../cluster/core/policies.ts";
import { SimulatedRun, type ProgressSnapshot, type RunResult } from "./run-core.ts";
import { resolveRunOptions, type RunOptions, type RunOptionsInput } from "./run-options.ts";
import { runLocalTest } from "./run-local.ts";

export interface RunHooks {
  /** Called about once a second of run time with the counts so far. */
  onProgress?: (snapshot: ProgressSnapshot) => void;
  /** Awaited between slices of a simulated run (the CLI lets the progress line draw there). */
  pause?: () => Promise<void>;
  /** The policies loaded from `options.policies`, for a simulated run (the CLI loads the file;
   * on the local backend every node loads it from the path itself). */
  policies?: PolicyOverrides | undefined;
}

/** Virtual time one slice of a simulated run covers between two progress reports. */
const simulatedSliceMs = 1_000;

export async function runTest(
  input: RunOptionsInput | RunOptions,
  hooks: RunHooks = {},
): Promise<RunResult> {
  const options = resolveRunOptions(input);
  if (options.backend === "local") return runLocalTest(options, hooks);
  if (options.backend === "docker") {
    const { runDockerTest } = await import("../nemesis/docker/run-docker.ts");
    return runDockerTest(options, hooks);
  }
  const startedMs = performance.now();
  const run = new SimulatedRun(options, { policies: hooks.policies });
  while (run.advance(simulatedSliceMs)) {
    hooks.onProgress?.(run.progress());
    if (hooks.pause !== undefined) await hooks.pause();
  }
  hooks.onProgress?.(run.progress());
  return run.result(performance.now() - startedMs);
}
