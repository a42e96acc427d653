// Lab 00 mistake: a test with no fault. It passes, and says nothing about what a partition
// does: a chaos test must break something.

import type { FirstTest } from "../first-test-types.ts";

export const firstTests: FirstTest[] = [
  {
    name: "a partition loses no acknowledged add",
    options: {
      workload: "set",
      timeMs: 10_000,
      cluster: { n: 3, r: 2, w: 2 },
      client: { concurrency: 5 },
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
