// Join and leave faults, the data-type counter and strict writes on real processes (lessons 6,
// 7 and 8): a spare node starts and joins through POST /admin/join, leaves again through
// /admin/leave, a member leaves and comes back, and meanwhile clients increment the counter over
// POST /crdt/counter. Every fault is applied (no nemesis info carries an error) and the counter
// checker finds every read within bounds.
import { expect, it } from "vitest";
import { runTest } from "./run.ts";

it("join and leave faults on local processes, with the /crdt/counter workload", async () => {
  const result = await runTest({
    workload: "pn-counter",
    backend: "local",
    seed: 3,
    timeMs: 8_000,
    cluster: { nodes: 3, sync: "never" },
    client: { concurrency: 3, ratePerSecond: 10 },
    nemesis: { faults: ["join", "leave"], intervalMs: 4_000, durationMs: 2_500 },
  });
  const nemesis = result.history.filter((operation) => operation.process === "nemesis");
  const applied = nemesis.filter((operation) => operation.type === "info").map((op) => op.f);
  expect(applied.length).toBe(4);
  expect(applied.filter((f) => /^(start|stop)-(join|leave)$/.test(f)).length).toBe(4);
  expect(
    nemesis.filter((operation) => JSON.stringify(operation.value).includes('"error"')),
  ).toEqual([]);
  expect(result.summary.ok).toBeGreaterThan(20);
  expect(result.results.counter!.valid).toBe(true);
}, 120_000);
