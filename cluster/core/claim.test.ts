// Tests for claim (lesson 4): balance and spacing over every node count from 1 to 8 and every
// ring size, the documented impossible cases, determinism, and rebalance when nodes join and
// leave. These tests are the grader for the ring lab's claim part.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { claim, claimViolations, rebalance } from "./claim.ts";
import type { NodeId } from "./types.ts";

const names = (count: number) => Array.from({ length: count }, (_, index) => `n${index + 1}`);
const ringSizes = [8, 16, 32, 64, 128, 256, 512, 1024];

function ownedCounts(owners: NodeId[], nodes: NodeId[]): number[] {
  return nodes.map((node) => owners.filter((owner) => owner === node).length);
}

function expectBalanced(owners: NodeId[], nodes: NodeId[]) {
  const floor = Math.floor(owners.length / nodes.length);
  for (const count of ownedCounts(owners, nodes)) {
    expect(count === floor || count === floor + 1).toBe(true);
  }
  expect(new Set(owners).size).toBeLessThanOrEqual(nodes.length);
  expect(owners.every((owner) => nodes.includes(owner))).toBe(true);
}

/** The necessary condition from claim.ts: a node owning ceil(Q/S) partitions needs N
 * partitions between each of its own. */
function spacingAchievable(nodeCount: number, partitionCount: number, targetN: number) {
  const spacing = Math.min(targetN, nodeCount);
  const extra = partitionCount % nodeCount;
  return extra === 0 || (Math.floor(partitionCount / nodeCount) + 1) * spacing <= partitionCount;
}

describe("04a: claim", () => {
  for (let nodeCount = 1; nodeCount <= 8; nodeCount += 1) {
    it(`balances and spaces ${nodeCount} node(s) on every ring size, targetN = 3`, () => {
      const nodes = names(nodeCount);
      const spacing = Math.min(3, nodeCount);
      for (const partitionCount of ringSizes) {
        const owners = claim(nodes, partitionCount, 3);
        expect(owners).toHaveLength(partitionCount);
        expectBalanced(owners, nodes);
        const violations = claimViolations(owners, spacing);
        if (spacingAchievable(nodeCount, partitionCount, 3)) {
          expect(violations, `S=${nodeCount} Q=${partitionCount}`).toEqual([]);
        } else {
          // Documented: impossible, so balance is kept and only the wrap repeats a node.
          expect(violations.length, `S=${nodeCount} Q=${partitionCount}`).toBeGreaterThan(0);
          expect(violations.length).toBeLessThanOrEqual(spacing - 1);
        }
      }
    });
  }

  it("has the impossible case where the lesson says: 3 nodes, N = 3, Q a power of two", () => {
    for (const partitionCount of ringSizes) {
      expect(spacingAchievable(3, partitionCount, 3)).toBe(false);
    }
    expect(spacingAchievable(4, 64, 3)).toBe(true);
    expect(spacingAchievable(6, 8, 5)).toBe(false);
  });

  it("finds the fewest violations there are for 3 nodes, Q = 8, N = 3 (exhaustive search)", () => {
    const nodes = names(3);
    let fewest = Infinity;
    for (let code = 0; code < 3 ** 8; code += 1) {
      const owners = Array.from(
        { length: 8 },
        (_, index) => nodes[Math.floor(code / 3 ** index) % 3]!,
      );
      const counts = ownedCounts(owners, nodes);
      if (Math.min(...counts) < 2 || Math.max(...counts) > 3) continue;
      fewest = Math.min(fewest, claimViolations(owners, 3).length);
    }
    expect(fewest).toBeGreaterThan(0);
    expect(claimViolations(claim(nodes, 8, 3), 3)).toHaveLength(fewest);
  });

  it("fixes the round-robin tail from the header: Q = 16, S = 5 ends d e c | a b", () => {
    const owners = claim(["a", "b", "c", "d", "e"], 16, 3);
    expect(owners.slice(0, 5)).toEqual(["a", "b", "c", "d", "e"]);
    expect(owners.slice(13)).toEqual(["d", "e", "c"]);
    expect(claimViolations(owners, 3)).toEqual([]);
  });

  it("keeps spacing whenever the necessary condition holds (N up to 5, S up to 24)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.constantFrom(...ringSizes),
        fc.integer({ min: 1, max: 5 }),
        (nodeCount, partitionCount, targetN) => {
          const nodes = names(nodeCount);
          const owners = claim(nodes, partitionCount, targetN);
          expectBalanced(owners, nodes);
          const violations = claimViolations(owners, Math.min(targetN, nodeCount));
          expect(violations.length === 0).toBe(
            spacingAchievable(nodeCount, partitionCount, targetN),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it("is deterministic: same members, Q and N give the same owners", () => {
    const nodes = ["x", "y", "z", "w", "v", "u"];
    expect(claim(nodes, 64, 3)).toEqual(claim([...nodes], 64, 3));
    // The member order matters (it is the tie-break), but only for the names.
    const reversed = claim([...nodes].reverse(), 64, 3);
    expect(ownedCounts(reversed, nodes).sort()).toEqual(
      ownedCounts(claim(nodes, 64, 3), nodes).sort(),
    );
  });

  it("rejects bad input with the project's message form", () => {
    expect(() => claim(names(3), 12, 3)).toThrow(
      "Expected `partitionCount` to be a power of two from 8 to 1024, got 12",
    );
    expect(() => claim(names(3), 4, 3)).toThrow(RangeError);
    expect(() => claim(names(3), 2048, 3)).toThrow("got 2048");
    expect(() => claim(names(3), 8.5, 3)).toThrow("got 8.5");
    expect(() => claim(names(3), 64, 0)).toThrow(
      "Expected `targetN` to be an integer from 1 to 16, got 0",
    );
    expect(() => claim(names(3), 64, 2.5)).toThrow("got 2.5");
    expect(() => claim([], 64, 3)).toThrow("Expected `nodes` to hold 1 to 256 nodes, got 0 nodes");
    expect(() => claim(["a", "b", "a"], 64, 3)).toThrow(
      'Expected `nodes` to be distinct, got "a" twice',
    );
    expect(() => claim(["a", ""], 64, 3)).toThrow(
      'Expected every node in `nodes` to be a non-empty string, got ""',
    );
  });
});

describe("04a: claimViolations", () => {
  it("lists each window of N that repeats a node, across the wrap", () => {
    expect(claimViolations(["a", "b", "a", "c"], 3)).toEqual([
      { start: 0, owners: ["a", "b", "a"] },
      { start: 2, owners: ["a", "c", "a"] },
    ]);
    expect(claimViolations(["a", "b", "c", "d"], 3)).toEqual([]);
    expect(claimViolations(["a", "b", "c", "a"], 2)).toEqual([{ start: 3, owners: ["a", "a"] }]);
  });
});

describe("08a: rebalance", () => {
  const moved = (before: NodeId[], after: NodeId[]) =>
    after.filter((owner, index) => owner !== before[index]).length;

  it("a 6th node joins 5: only the new node receives, and only about Q/6 partitions move", () => {
    for (const partitionCount of ringSizes) {
      const before = claim(names(5), partitionCount, 3);
      const after = rebalance(before, names(6), 3);
      expectBalanced(after, names(6));
      expect(claimViolations(after, 3), `Q=${partitionCount}`).toEqual([]);
      after.forEach((owner, index) => {
        if (owner !== before[index]) expect(owner).toBe("n6");
      });
      const floor = Math.floor(partitionCount / 6);
      expect(moved(before, after)).toBe(ownedCounts(after, ["n6"])[0]);
      expect(moved(before, after)).toBe(floor); // the minimum: the new node's fair share
    }
  });

  it("one node joins S = 3..8 nodes: at most ceil(Q/S) moves, balanced, spaced", () => {
    for (let nodeCount = 4; nodeCount <= 8; nodeCount += 1) {
      for (const partitionCount of ringSizes) {
        const before = claim(names(nodeCount), partitionCount, 3);
        const after = rebalance(before, names(nodeCount + 1), 3);
        expectBalanced(after, names(nodeCount + 1));
        expect(claimViolations(after, 3), `S=${nodeCount} Q=${partitionCount}`).toEqual([]);
        expect(moved(before, after)).toBeLessThanOrEqual(
          Math.ceil(partitionCount / (nodeCount + 1)),
        );
      }
    }
  });

  it("a node leaves 6: its partitions go to the others, balanced and spaced", () => {
    for (const partitionCount of ringSizes) {
      const before = claim(names(6), partitionCount, 3);
      const remaining = names(6).filter((node) => node !== "n3");
      const after = rebalance(before, remaining, 3);
      expectBalanced(after, remaining);
      expect(claimViolations(after, 3), `Q=${partitionCount}`).toEqual([]);
      // Spacing forces more moves than n3's share (see rebalance's comment), but claiming
      // near the current owners moves fewer than a claim from scratch would.
      const share = before.filter((owner) => owner === "n3").length;
      expect(moved(before, after)).toBeGreaterThanOrEqual(share);
      const fromScratch = moved(before, claim(remaining, partitionCount, 3));
      expect(moved(before, after)).toBeLessThanOrEqual(fromScratch);
      if (partitionCount >= 64) expect(moved(before, after)).toBeLessThan(fromScratch);
    }
  });

  it("replaces a node (one leaves, one joins at once): balanced and spaced", () => {
    const before = claim(names(6), 128, 3);
    const members = ["n1", "n2", "n4", "n5", "n6", "n7"];
    const after = rebalance(before, members, 3);
    expectBalanced(after, members);
    expect(claimViolations(after, 3)).toEqual([]);
    expect(after).not.toContain("n3");
  });

  it("rejects owners that are not node names, and bad members", () => {
    expect(() => rebalance(["a", 5 as unknown as string, ...names(6)], names(3), 3)).toThrow(
      "Expected every owner in `currentOwners` to be a node name, got 5",
    );
    expect(() => rebalance(names(12), names(3), 3)).toThrow("got 12");
    expect(() => rebalance(claim(names(3), 8, 3), [], 3)).toThrow("got 0 nodes");
  });

  it("moves nothing when the members do not change", () => {
    const before = claim(names(5), 64, 3);
    expect(rebalance(before, names(5), 3)).toEqual(before);
  });

  it("claims again near the current owners when moves alone cannot keep spacing", () => {
    // 2 -> 3 nodes: alternating a b a b cannot become a b c a b c by moving a third.
    for (const nodeCount of [2, 3]) {
      const before = claim(names(nodeCount), 64, 3);
      const after = rebalance(before, names(nodeCount + 1), 3);
      expectBalanced(after, names(nodeCount + 1));
      const fresh = claim(names(nodeCount + 1), 64, 3);
      const spacing = Math.min(3, nodeCount + 1);
      expect(claimViolations(after, spacing)).toHaveLength(claimViolations(fresh, spacing).length);
      expect(moved(before, after)).toBeLessThanOrEqual(moved(before, fresh));
    }
  });
});
