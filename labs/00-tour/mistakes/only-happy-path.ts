// Lab 00 mistake: only tests that pass. Both predictions hold, but neither test shows what
// breaks; the second test asks for W = 2 and R = 2, and no checker finds anything.

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
      cluster: { n: 3, r: 2, w: 2 },
      client: { concurrency: 5 },
      nemesis: { faults: ["partition"], intervalMs: 4_000 },
    },
    expect: { availability: true },
  },
];
