// Join and leave faults and the data-type counter on real processes (lessons 6, 7 and 8): a
// spare node starts and joins through POST /admin/join, leaves again through /admin/leave, a
// member leaves and comes back, while clients add to a set; every fault is applied (no nemesis
// info carries an error) and no acknowledged add is lost. Then clients increment the counter
// over POST /crdt/counter and read it back over GET, within the counter checker's bounds.
import { expect, it } from "vitest";
import { runTest } from "./run.ts";

it("join and leave faults on local processes lose no acknowledged add", async () => {
  const result = await runTest({
    workload: "set",
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
  expect(result.results.set!.valid).toBe(true);
}, 120_000);

it("the pn-counter workload increments and reads /crdt/counter over HTTP", async () => {
  const result = await runTest({
    workload: "pn-counter",
    backend: "local",
    seed: 1,
    timeMs: 3_000,
    cluster: { nodes: 3, sync: "never" },
    client: { concurrency: 3, ratePerSecond: 10 },
  });
  const reads = result.history.filter(
    (operation) => operation.f === "read" && operation.type === "ok",
  );
  expect(reads.length).toBeGreaterThan(3);
  expect(Math.max(...reads.map((operation) => operation.value as number))).toBeGreaterThan(0);
  expect(result.results.counter!.valid).toBe(true);
}, 120_000);
