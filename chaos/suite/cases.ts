// The regression suite's run options, shared by the short suite (npm test) and the long one
// (npm run chaos), so that both test exactly the same configurations.

import type { RunOptionsInput } from "../harness/run-options.ts";

/** R = W = 1 under partitions: reads miss writes and concurrent writes become siblings. */
export function brokenRegister(seed: number, timeMs = 20_000): RunOptionsInput {
  return {
    workload: "register",
    seed,
    timeMs,
    cluster: { nodes: 5, n: 3, r: 1, w: 1, sync: "always" },
    nemesis: { faults: ["partition"], intervalMs: 5_000, durationMs: 3_000 },
    checkers: ["linearizable"],
  };
}

/** W = 2 with every write synced before it is acknowledged, one node crashing at a time. */
export function soundSetUnderCrashes(seed: number, timeMs = 20_000): RunOptionsInput {
  return {
    workload: "set",
    seed,
    timeMs,
    cluster: { nodes: 5, n: 3, r: 2, w: 2, sync: "always" },
    client: { concurrency: 5, ratePerSecond: 5 },
    nemesis: { faults: ["crash"], intervalMs: 4_000, durationMs: 2_000 },
    checkers: ["set"],
  };
}

/** A small run with every kind of fault, for the determinism property. */
export function determinismCase(seed: number): RunOptionsInput {
  return {
    workload: "register",
    seed,
    timeMs: 8_000,
    cluster: { nodes: 5, r: 1, w: 1 },
    client: { concurrency: 5, ratePerSecond: 10, retry: "retry-with-idempotency-key" },
    nemesis: {
      faults: ["partition", "crash", "pause", "skew"],
      intervalMs: 2_000,
      durationMs: 1_000,
    },
    checkers: [],
  };
}
