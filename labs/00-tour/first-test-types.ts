// Lab 00's contract: what a learner's first chaos test is (lesson 0, the tour). The same three
// parts as chaosTest() in chaos/harness/chaos-test.ts: the run's options, and the verdict each
// named checker must give. No Node built-ins: the course site grades this lab in the browser.

import type { CheckerName } from "../../chaos/harness/checks.ts";
import type { RunOptionsInput } from "../../chaos/harness/run-options.ts";

export interface FirstTest {
  /** A few words: what the test shows ("a partition loses no acknowledged add"). */
  name: string;
  /** What to run: the workload, the cluster, the faults (as `npx neverstop test` takes them). */
  options: RunOptionsInput;
  /** The verdict each checker must give: true (valid) or false (a violation found). */
  expect: Partial<Record<CheckerName, boolean>>;
}
