// `neverstop test set --backend local --faults partition` (lesson 3, "network splits", on real
// processes): the harness cuts links through the Toxiproxy proxies between the nodes, and at
// W=2 the set checker finds no acknowledged add lost. Seed 2's schedule isolates n1 first (its
// links refused), then splits the cluster 3 | 2: writes coordinated by the isolated n1 must
// fail while it is alone, which shows the cut really happened.
import { expect, it } from "vitest";
import { faultWindows } from "../checkers/history-view.ts";
import { runTest } from "./run.ts";

it("a short local run with partitions through Toxiproxy loses nothing at W=2", async () => {
  const result = await runTest({
    workload: "set",
    backend: "local",
    seed: 2,
    timeMs: 10_000,
    cluster: { nodes: 5, n: 3, r: 2, w: 2, sync: "never" },
    client: { concurrency: 4, ratePerSecond: 20 },
    nemesis: { faults: ["partition"], intervalMs: 5_000, durationMs: 3_000 },
  });
  expect(
    result.schedule.map(({ fault }) => fault.name === "partition" && fault.description),
  ).toEqual(["isolate n1", "majority/minority n5,n2,n4 | n1,n3"]);
  const nemesis = result.history.filter((operation) => operation.process === "nemesis");
  expect(nemesis.map((operation) => `${operation.type} ${operation.f}`)).toEqual([
    "invoke start-partition",
    "info start-partition",
    "invoke stop-partition",
    "info stop-partition",
    "invoke start-partition",
    "info start-partition",
    "invoke stop-partition",
    "info stop-partition",
  ]);
  // Every fault was applied: an info with an error would say the backend failed.
  expect(
    nemesis.filter((operation) => JSON.stringify(operation.value).includes('"error"')),
  ).toEqual([]);
  const isolated = faultWindows(result.history)[0]!;
  const refusedOnN1 = result.history.filter(
    (operation) =>
      operation.type === "fail" &&
      operation.node === "n1" &&
      operation.time > isolated.startNs &&
      operation.time < isolated.endNs,
  );
  expect(refusedOnN1.length).toBeGreaterThan(0);

  const set = result.results["set"]!;
  expect(set.valid).toBe(true);
  expect(set).toMatchObject({ lostCount: 0 });
  expect(set["acknowledgedCount"]).toBeGreaterThan(50);
}, 120_000);
