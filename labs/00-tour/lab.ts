// Lab 00, the tour (the grader; browser-safe): the learner's first chaos tests. A chaos test is
// a workload, faults and a prediction; the grader checks that each test breaks something, that
// every prediction holds on three seeds, and that at least one test predicts a violation (a
// test that cannot fail teaches nothing).

import type { CheckerName } from "../../chaos/harness/checks.ts";
import type { RunResult } from "../../chaos/harness/run-core.ts";
import {
  resolveRunOptions,
  RunOptionsError,
  type RunOptionsInput,
} from "../../chaos/harness/run-options.ts";
import { runFailure } from "../kit/evidence.ts";
import { defineLab, LabInputError, type CheckOutcome } from "../kit/lab.ts";
import type { FirstTest } from "./first-test-types.ts";

export const testCountMax = 4;
export const testTimeMsMax = 20_000;
export const seedsPerTest = 3;

interface TourModule {
  firstTests: FirstTest[];
}

function validate(module: Record<string, unknown>): TourModule {
  if (!Array.isArray(module.firstTests))
    throw new LabInputError("the file must export an array `firstTests`");
  return module as unknown as TourModule;
}

function wellFormed({ firstTests }: TourModule): CheckOutcome {
  if (firstTests.length < 2 || firstTests.length > testCountMax)
    return { ok: false, message: `write 2 to ${testCountMax} tests, found ${firstTests.length}` };
  for (const [index, test] of firstTests.entries()) {
    const label = `test ${index + 1} (${JSON.stringify(test?.name)})`;
    if (typeof test?.name !== "string" || test.name === "")
      return { ok: false, message: `${label} needs a name` };
    let faults: readonly string[];
    try {
      const options = resolveRunOptions(test.options);
      faults = options.nemesis.faults;
      if (options.timeMs > testTimeMsMax)
        return {
          ok: false,
          message: `${label} runs ${options.timeMs} ms; keep it at most ${testTimeMsMax} so grading takes seconds`,
        };
    } catch (error) {
      if (!(error instanceof RunOptionsError)) throw error;
      return { ok: false, message: `${label} has bad options: ${error.message}` };
    }
    if (faults.length === 0)
      return { ok: false, message: `${label} injects no fault: a chaos test must break something` };
    const predicted = Object.entries(test.expect ?? {});
    if (predicted.length === 0)
      return { ok: false, message: `${label} predicts nothing: name a checker and its verdict` };
  }
  if (!firstTests.some((test) => test.options.nemesis?.faults?.includes("partition")))
    return { ok: false, message: "no test partitions the network" };
  return { ok: true, detail: `${firstTests.length} tests` };
}

async function predictionsHold(
  { firstTests }: TourModule,
  seed: number,
  runCluster: (input: RunOptionsInput) => Promise<RunResult>,
  note: (text: string) => void,
): Promise<CheckOutcome> {
  for (const test of firstTests) {
    for (let offset = 0; offset < seedsPerTest; offset += 1) {
      note(`${test.name}: seed ${seed + offset}`);
      const checkers = Object.keys(test.expect) as CheckerName[];
      const result = await runCluster({ ...test.options, seed: seed + offset, checkers });
      for (const name of checkers) {
        const predicted = test.expect[name]!;
        const actual = result.results[name]?.valid;
        if (actual === predicted) continue;
        const reason = result.results[name]?.reason;
        return runFailure(
          result,
          name,
          `"${test.name}" on seed ${seed + offset}: you predicted ${name} ${String(predicted)}, the checker says ${String(actual)}${typeof reason === "string" ? ` (${reason})` : ""}`,
        );
      }
    }
  }
  return { ok: true, detail: `${firstTests.length * seedsPerTest} runs` };
}

export const lab00 = defineLab<TourModule>({
  id: "00",
  slug: "00-tour",
  title: "Tour: start, break and check a cluster",
  learnerFile: "first-test.ts",
  talkSlide: "Introduction: designing for scalability (the system we will break)",
  paperSection: "Dynamo 1-2 (introduction, background) and 6 (experiences)",
  validate,
  checks: [
    {
      id: "00a",
      title: "each test is a chaos test: options, a fault, a prediction",
      needs: "pure",
      run: ({ module }) => wellFormed(module),
    },
    {
      id: "00b",
      title: "every prediction holds on three seeds",
      needs: "cluster",
      run: ({ module, seed, runCluster, note }) =>
        predictionsHold(module, seed, (input) => runCluster(input), note),
    },
    {
      id: "00c",
      title: "one test predicts a violation (a test that can fail)",
      needs: "pure",
      run: ({ module }): CheckOutcome =>
        module.firstTests.some((test) => Object.values(test.expect).includes(false))
          ? { ok: true }
          : {
              ok: false,
              message:
                "every prediction is `true`: add a test whose checker finds a violation, and predict it",
            },
    },
  ],
  mistakes: {
    "no-fault.ts": { fails: "00a", why: "a test that breaks nothing" },
    "wrong-prediction.ts": {
      fails: "00b",
      why: "predicts that R = W = 1 is linearizable under partitions",
    },
    "only-happy-path.ts": { fails: "00c", why: "no test can fail" },
  },
});
