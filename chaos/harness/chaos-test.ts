// chaosTest(): a vitest test made of a run (lesson 5, systems that never stop; every lab's
// grader). It runs the test through runTest() (the function `neverstop test` calls), asserts
// every checker's verdict (valid unless the expectations say otherwise), and when a verdict is
// not the expected one it writes the run to store/ and prints the seed and the exact command
// that replays it:
//
//   chaosTest("03a: R=W=1 under partitions is not linearizable",
//     { workload: "register", seed: 7, cluster: { r: 1, w: 1 }, nemesis: { faults: ["partition"] } },
//     { checkers: { linearizable: false } });

import { expect, test } from "vitest";
import type { Validity } from "../checkers/history-view.ts";
import type { CheckerName } from "./checks.ts";
import type { RunResult } from "./run-core.ts";
import { resolveRunOptions, type RunOptionsInput } from "./run-options.ts";
import { runTest } from "./run.ts";
import { writeRun } from "./store-writer.ts";

export interface ChaosExpectations {
  /** Expected verdict per checker; a checker not named here must be valid. */
  checkers?: Partial<Record<CheckerName, Validity>>;
  /** Also check something about the result (counts, evidence); throw or fail to reject it. */
  inspect?: (result: RunResult) => void;
  /** vitest's time limit for this test. Default 120 s. */
  testTimeoutMs?: number;
}

/** The verdicts that differ from the expectations, one line each (empty when all agree). */
export function verdictMismatches(
  result: RunResult,
  expectations: ChaosExpectations = {},
): string[] {
  const mismatches: string[] = [];
  for (const [name, checkerResult] of Object.entries(result.results)) {
    const expected = expectations.checkers?.[name as CheckerName] ?? true;
    if (checkerResult.valid !== expected) {
      const reason = typeof checkerResult.reason === "string" ? `: ${checkerResult.reason}` : "";
      mismatches.push(
        `${name} expected ${String(expected)}, got ${String(checkerResult.valid)}${reason}`,
      );
    }
  }
  for (const name of Object.keys(expectations.checkers ?? {})) {
    if (!(name in result.results))
      mismatches.push(`${name} expected a verdict, but the run did not ask that checker`);
  }
  return mismatches;
}

export function chaosTest(
  name: string,
  input: RunOptionsInput,
  expectations: ChaosExpectations = {},
): void {
  // Bad options fail at collection time, with the options' own one-line message.
  const options = resolveRunOptions(input);
  test(
    name,
    async () => {
      const result = await runTest(options);
      const mismatches = verdictMismatches(result, expectations);
      if (mismatches.length > 0) {
        const folder = writeRun(result);
        const message = [
          `${name}: ${mismatches.join("; ")}`,
          `  seed:   ${options.seed}`,
          `  replay: ${result.summary.replayCommand}`,
          `  stored: ${folder}`,
        ].join("\n");
        console.error(message);
        expect.fail(message);
      }
      expectations.inspect?.(result);
    },
    expectations.testTimeoutMs ?? 120_000,
  );
}
