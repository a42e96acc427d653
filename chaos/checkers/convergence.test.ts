// Tests of the convergence checker (lesson 5): replicas that agree after a heal, ones that never
// do, ones never sampled after it, and the time each key took.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkConvergence } from "./convergence.ts";
import type { ReplicaSample } from "./convergence.ts";

const secondNs = 1_000_000_000;
const sample = (seconds: number, node: string, key: string, value: unknown): ReplicaSample => ({
  timeNs: seconds * secondNs,
  node,
  key,
  value,
});

describe("checkConvergence", () => {
  it("measures the time from the heal to agreement", () => {
    const samples = [
      sample(9, "n1", "x", 1),
      sample(9, "n2", "x", 2),
      sample(11, "n1", "x", 2),
      sample(11, "n2", "x", 2),
      sample(12, "n1", "x", 2),
      sample(12, "n2", "x", 2),
    ];
    const result = checkConvergence(samples, { healedAtNs: 10 * secondNs });
    expect(result.valid).toBe(true);
    expect(result.keys[0]).toMatchObject({
      key: "x",
      status: "converged",
      timeToConvergeNs: secondNs,
    });
    expect(result.maxTimeToConvergeNs).toBe(secondNs);
  });

  it("finds a key still divergent at the end, with the differing values", () => {
    const samples = [
      sample(11, "n1", "x", 2),
      sample(11, "n2", "x", 2),
      sample(12, "n1", "x", 2),
      sample(12, "n2", "x", 3),
      sample(12, "n1", "y", "same"),
      sample(12, "n2", "y", "same"),
    ];
    const result = checkConvergence(samples, { healedAtNs: 10 * secondNs });
    expect(result.valid).toBe(false);
    expect(result).toMatchObject({ divergentKeyCount: 1, convergedKeyCount: 1 });
    expect(result.keys[0]).toEqual({
      key: "x",
      status: "divergent",
      finalValues: [
        { node: "n1", value: 2 },
        { node: "n2", value: 3 },
      ],
    });
  });

  it("compares values as canonical JSON and counts a key that agreed at the heal as zero", () => {
    const samples = [
      sample(1, "n1", "x", { a: 1, b: [1, 2] }),
      sample(1, "n2", "x", { b: [1, 2], a: 1 }),
      sample(6, "n1", "x", { a: 1, b: [1, 2] }),
      sample(6, "n2", "x", { b: [1, 2], a: 1 }),
    ];
    const result = checkConvergence(samples, { healedAtNs: 5 * secondNs });
    expect(result.valid).toBe(true);
    expect(result.keys[0]!.timeToConvergeNs).toBe(0);
  });

  it("answers unknown for a replica never sampled after the heal, unless the others disagree", () => {
    const stale = [sample(1, "n1", "x", 1), sample(1, "n2", "x", 2), sample(6, "n1", "x", 2)];
    const result = checkConvergence(stale, { healedAtNs: 5 * secondNs });
    expect(result.valid).toBe("unknown");
    expect(result.keys[0]).toMatchObject({ status: "unobserved", unobservedNodes: ["n2"] });
    const disagreeing = [...stale, sample(6, "n3", "x", 3), sample(1, "n4", "x", 0)];
    expect(checkConvergence(disagreeing, { healedAtNs: 5 * secondNs }).valid).toBe(false);
    expect(checkConvergence([], { healedAtNs: 0 }).valid).toBe("unknown");
  });

  it("does not count agreement that breaks again later", () => {
    const samples = [
      sample(11, "n1", "x", 1),
      sample(11, "n2", "x", 1),
      sample(12, "n2", "x", 2),
      sample(13, "n1", "x", 2),
    ];
    const result = checkConvergence(samples, { healedAtNs: 10 * secondNs });
    expect(result.keys[0]).toMatchObject({
      convergedAtNs: 13 * secondNs,
      timeToConvergeNs: 3 * secondNs,
    });
  });

  it("refuses a bad heal time", () => {
    expect(() => checkConvergence([], { healedAtNs: -1 })).toThrow(/healedAtNs/);
  });

  it("is valid whenever every replica ends on the same value, and invalid when one differs", () => {
    const nodes = ["n1", "n2", "n3"];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            node: fc.constantFrom(...nodes),
            time: fc.integer({ min: 0, max: 20 }),
            value: fc.integer({ min: 0, max: 3 }),
          }),
        ),
        fc.integer({ min: 0, max: 3 }),
        (noise, finalValue) => {
          const samples = noise.map((entry) => sample(entry.time, entry.node, "k", entry.value));
          const final = nodes.map((node) => sample(30, node, "k", finalValue));
          expect(
            checkConvergence([...samples, ...final], { healedAtNs: 10 * secondNs }).valid,
          ).toBe(true);
          const broken = [...final.slice(1), sample(30, "n1", "k", finalValue + 1)];
          expect(
            checkConvergence([...samples, ...broken], { healedAtNs: 10 * secondNs }).valid,
          ).toBe(false);
        },
      ),
    );
  });
});
