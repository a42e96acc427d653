// The short chaos suite (runs in `npm test`, well under 30 s): the two verdicts the checkers
// must tell apart, on a few seeds, through the same runTest() that `neverstop test` calls, and
// the determinism the whole simulator rests on. The long suite (*.long.test.ts, `npm run
// chaos`) runs the same cases over many more seeds and every workload.

import { describe, expect, test } from "vitest";
import { chaosTest } from "../harness/chaos-test.ts";
import { formatJsonLines } from "../harness/history-io.ts";
import { runTest } from "../harness/run.ts";
import { brokenRegister, determinismCase, soundSetUnderCrashes } from "./cases.ts";

describe("the checkers tell a broken configuration from a sound one", () => {
  for (const seed of [1, 2]) {
    chaosTest(`R=W=1 under partitions is not linearizable (seed ${seed})`, brokenRegister(seed), {
      checkers: { linearizable: false },
      // Not only siblings (concurrent writes, which any Dynamo shows): a read that missed an
      // acknowledged write, found by the search among the reads that returned one value.
      inspect: (result) => expect(result.results.linearizable!.singleValueReadsValid).toBe(false),
    });
  }
  chaosTest(
    "control: R=W=2 without faults, the single-value reads are linearizable (seed 1)",
    { ...brokenRegister(1), cluster: { r: 2, w: 2 }, nemesis: { faults: [] } },
    {
      checkers: { linearizable: false }, // siblings from concurrent writes: Dynamo is not a register
      inspect: (result) => expect(result.results.linearizable!.singleValueReadsValid).toBe(true),
    },
  );
  for (const seed of [1, 2]) {
    chaosTest(
      `W=2, sync always, crashes: no acknowledged add is lost (seed ${seed})`,
      soundSetUnderCrashes(seed),
      {
        inspect: (result) => {
          // The run must have exercised something: crashes happened and adds were acknowledged.
          expect(result.schedule.some((entry) => entry.fault.name === "crash")).toBe(true);
          expect(result.results.set!.acknowledgedCount as number).toBeGreaterThan(50);
        },
      },
    );
  }
  for (const seed of [1, 2]) {
    chaosTest(
      `W=2 under partitions (sloppy quorum, hints, anti-entropy): no acknowledged add is lost (seed ${seed})`,
      {
        ...soundSetUnderCrashes(seed),
        nemesis: { faults: ["partition"], intervalMs: 4_000, durationMs: 2_000 },
      },
      {
        inspect: (result) => {
          expect(result.schedule.some((entry) => entry.fault.name === "partition")).toBe(true);
          expect(result.results.set!.acknowledgedCount as number).toBeGreaterThan(50);
        },
      },
    );
  }
  chaosTest(
    "control: N=1, sync never, crashes: acknowledged adds are lost (seed 1)",
    { ...soundSetUnderCrashes(1), cluster: { n: 1, r: 1, w: 1, sync: "never" } },
    {
      checkers: { set: false },
      inspect: (result) => expect(result.results.set!.lostCount as number).toBeGreaterThan(0),
    },
  );
});

test("a simulated run is a pure function of its options and seed", async () => {
  const first = await runTest(determinismCase(5));
  const second = await runTest(determinismCase(5));
  const other = await runTest(determinismCase(6));
  expect(formatJsonLines(second.history)).toBe(formatJsonLines(first.history));
  expect(JSON.stringify(second.trace)).toBe(JSON.stringify(first.trace));
  expect(second.summary.messages).toEqual(first.summary.messages);
  expect(formatJsonLines(other.history)).not.toBe(formatJsonLines(first.history));
});
