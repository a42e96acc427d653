// Lab 00, the tour: your first chaos tests (reference solution).
// A set under partitions with W = 2 keeps every acknowledged add (sloppy quorum and hinted
// handoff carry writes across the split); a register with R = W = 1 under the same faults is
// not linearizable: a read through one side misses a write acknowledged on the other, and
// concurrent writes come back as siblings.

import type { FirstTest } from "../first-test-types.ts";

export const firstTests: FirstTest[] = [
  {
    name: "a partition loses no acknowledged add",
    options: {
      workload: "set",
      timeMs: 10_000,
      cluster: { n: 3, r: 2, w: 2 },
      client: { concurrency: 5 },
      nemesis: { faults: ["partition"], intervalMs: 4_000 },
    },
    expect: { set: true },
  },
  {
    name: "R = W = 1 under partitions is not linearizable",
    options: {
      workload: "register",
      timeMs: 10_000,
      cluster: { n: 3, r: 1, w: 1 },
      client: { concurrency: 5 },
      nemesis: { faults: ["partition"], intervalMs: 4_000 },
    },
    expect: { linearizable: false },
  },
];
