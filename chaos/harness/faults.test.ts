import { expect, test } from "vitest";
import { Random } from "../../cluster/runtime/sim/random.ts";
import { planFaults } from "./faults.ts";

const nodes = ["n1", "n2", "n3", "n4", "n5"];
const nemesis = {
  faults: ["partition", "crash", "pause", "skew"] as const,
  intervalMs: 10_000,
  durationMs: 5_000,
};

test("one fault per interval, in its last part, all stopped by the end of the run", () => {
  const schedule = planFaults(
    { ...nemesis, faults: [...nemesis.faults] },
    30_000,
    nodes,
    new Random(1),
  );
  expect(schedule.map(({ startMs, stopMs }) => [startMs, stopMs])).toEqual([
    [5_000, 10_000],
    [15_000, 20_000],
    [25_000, 30_000],
  ]);
});

test("the schedule is a function of the seed", () => {
  const plan = (seed: number) =>
    JSON.stringify(
      planFaults({ ...nemesis, faults: [...nemesis.faults] }, 200_000, nodes, new Random(seed)),
    );
  expect(plan(9)).toBe(plan(9));
  expect(plan(9)).not.toBe(plan(10));
});

test("partitions cut links between known nodes only, and never a link to itself", () => {
  const schedule = planFaults(
    { faults: ["partition"], intervalMs: 1_000, durationMs: 500 },
    100_000,
    nodes,
    new Random(3),
  );
  expect(schedule).toHaveLength(100);
  for (const { fault } of schedule) {
    if (fault.name !== "partition") throw new Error("expected partitions only");
    expect(fault.cut.length).toBeGreaterThan(0);
    for (const link of fault.cut) {
      const [from, to] = link.split("->");
      expect(nodes).toContain(from);
      expect(nodes).toContain(to);
      expect(from).not.toBe(to);
    }
  }
});
