// Lab 00, the tour: your first chaos tests. The file you write.
//
// A chaos test is three things: a workload (what the clients do), faults (what breaks), and a
// prediction (what the checkers will say). Fill in `firstTests` below with at least two tests:
//
//   - one that partitions the network while clients add to a set (workload "set") and
//     predicts that nothing acknowledged is lost: { set: true };
//   - one whose prediction is that a checker FINDS a violation ({ linearizable: false }, say,
//     for the register workload with R = W = 1 under partitions).
//
// Each test is graded in the simulator on three seeds: a prediction must hold on every one,
// because a property that holds on one seed only is a coincidence.
//
// The options are those of `npx neverstop test` (chaos/harness/run-options.ts):
//   { workload: "set", timeMs: 10_000, cluster: { n: 3, r: 2, w: 2 },
//     nemesis: { faults: ["partition"], intervalMs: 4_000 } }
// Keep `timeMs` at most 20_000 so that grading takes seconds.
//
// Grade it: npx neverstop lab 00      (the reference: npx neverstop lab 00 --solution)

import type { FirstTest } from "../first-test-types.ts";

export const firstTests: FirstTest[] = [
  // { name: "...", options: { workload: "...", ... }, expect: { ...: true } },
];
