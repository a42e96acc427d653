// Simulated runs for labs 06 to 11 with what run options cannot carry (functions): a client
// retry policy (lab 07), or a node policies object (labs 08 to 10). The same SimulatedRun
// `neverstop test --backend sim` uses, so a verdict here is the verdict of the replay command.
// No Node built-ins: the course site runs the graders in a Web Worker.

import type { RetryDecider } from "../../chaos/harness/client.ts";
import type { PolicyOverrides } from "../../cluster/core/policies.ts";
import { SimulatedRun, type RunResult } from "../../chaos/harness/run-core.ts";
import { resolveRunOptions, type RunOptionsInput } from "../../chaos/harness/run-options.ts";

/** Virtual time between two progress notes. */
const sliceMs = 5_000;

export interface SimulationRuntime {
  retryDecider?: RetryDecider | undefined;
  /** Node policies (cluster/core/policies.ts) every simulated node runs. */
  policies?: PolicyOverrides | undefined;
}

export function simulateWith(
  input: RunOptionsInput,
  runtime: SimulationRuntime,
  note: (text: string) => void = () => {},
): RunResult {
  const options = resolveRunOptions({ ...input, backend: "sim" });
  const startedMs = globalThis.performance.now();
  const run = new SimulatedRun(options, runtime);
  while (run.advance(sliceMs)) {
    const { elapsedMs, totalMs, invoked } = run.progress();
    note(
      `simulating ${Math.round(elapsedMs / 1_000)}/${Math.round(totalMs / 1_000)} s, ${invoked} ops`,
    );
  }
  return run.result(globalThis.performance.now() - startedMs);
}

/**
 * A cluster check's run with node policies: on the simulator here (synchronously, with the
 * policies object), on real processes through the kit (which writes `moduleSource`, a module
 * importing the learner's file, for the node processes to load).
 */
export async function runWithPolicies(
  context: {
    backend: string;
    note(text: string): void;
    runCluster(
      input: RunOptionsInput,
      policies?: { value: unknown; moduleSource?: string },
    ): Promise<RunResult>;
  },
  input: RunOptionsInput,
  policies: PolicyOverrides,
  moduleSource: string | undefined,
): Promise<RunResult> {
  if (context.backend === "sim") return simulateWith(input, { policies }, context.note);
  return context.runCluster(input, {
    value: policies,
    ...(moduleSource === undefined ? {} : { moduleSource }),
  });
}

/** The source of a policies module for real node processes: it imports the learner's file by
 * absolute path (and any `imports`, lines of their own) and builds the policies from it with
 * `build`, a self-contained function of the learner's module. */
export function policiesModuleSource(
  learnerFile: string | undefined,
  build: string,
  imports: readonly string[] = [],
): string | undefined {
  if (learnerFile === undefined) return undefined;
  return [
    `import * as learner from ${JSON.stringify(learnerFile)};`,
    ...imports,
    `export const policies = (${build})(learner);`,
    "",
  ].join("\n");
}

/** Runs once per key and module: several checks judge the same run. */
export function memoized<Key extends object, Value>(
  compute: (key: Key, seed: number) => Value,
): (key: Key, seed: number) => Value {
  const cache = new WeakMap<Key, Map<number, Value>>();
  return (key, seed) => {
    let bySeed = cache.get(key);
    if (bySeed === undefined) cache.set(key, (bySeed = new Map()));
    if (!bySeed.has(seed)) bySeed.set(seed, compute(key, seed));
    return bySeed.get(seed)!;
  };
}
