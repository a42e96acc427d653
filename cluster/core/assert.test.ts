// The assertion helpers (every lesson's state machines state their invariants with them).
import { describe, expect, it } from "vitest";
import { allDistinct, assert, InvariantError } from "./assert.ts";

describe("assert", () => {
  it("throws an InvariantError naming the invariant, and nothing when it holds", () => {
    expect(() => assert(false, "one reply per replica")).toThrow(
      new InvariantError("invariant broken: one reply per replica"),
    );
    expect(() => assert(true, "one reply per replica")).not.toThrow();
  });

  it("allDistinct says whether any two items are equal, as a Set would", () => {
    for (const items of [[], ["n1"], ["n1", "n2", "n3"], ["n1", "n2", "n1"], ["n3", "n3"]]) {
      expect(allDistinct(items)).toBe(new Set(items).size === items.length);
    }
  });
});
