// The seeded generator and its portable logarithm (lesson 1: a seed replays the same run in
// Node and in the browser).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { portableLog, Random } from "./random.ts";

describe("Random", () => {
  it("replays the same stream for the same seed and another for another seed", () => {
    const draw = (seed: number) => Array.from({ length: 5 }, () => new Random(seed).next());
    const stream = (seed: number) => {
      const random = new Random(seed);
      return Array.from({ length: 100 }, () => random.nextUint32());
    };
    expect(stream(1)).toEqual(stream(1));
    expect(stream(1)).not.toEqual(stream(2));
    expect(new Set(draw(3)).size).toBe(1);
  });

  it("draws uniformly enough for scheduling (mean and range)", () => {
    const random = new Random("uniform");
    let sum = 0;
    for (let index = 0; index < 20_000; index += 1) {
      const value = random.next();
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
      sum += value;
    }
    expect(Math.abs(sum / 20_000 - 0.5)).toBeLessThan(0.01);
  });

  it("computes logarithms within a few ulps of Math.log, from basic arithmetic only", () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-300, max: 1, noNaN: true }), (x) => {
        fc.pre(x > 0);
        const expected = Math.log(x);
        expect(Math.abs(portableLog(x) - expected)).toBeLessThanOrEqual(
          Math.max(1e-15, Math.abs(expected) * 4e-16),
        );
      }),
    );
    expect(portableLog(1)).toBe(0);
    expect(portableLog(0)).toBe(Number.NEGATIVE_INFINITY);
  });
});
