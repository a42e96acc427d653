// The pair memo remembers by (outer, inner) and forgets everything once full (lessons 2 and 4).
import { describe, expect, it } from "vitest";
import { PairMemo } from "./memo.ts";

describe("PairMemo", () => {
  it("answers by both keys, never by one of them alone", () => {
    const memo = new PairMemo<number, string>(10);
    memo.set(3, "k", "three");
    memo.set(5, "k", "five");
    expect(memo.get(3, "k")).toBe("three");
    expect(memo.get(5, "k")).toBe("five");
    expect(memo.get(4, "k")).toBeUndefined();
    expect(memo.get(3, "other")).toBeUndefined();
  });

  it("forgets everything when full, as the worked example says", () => {
    const tags = new PairMemo<string, string>(2);
    tags.set("b", "k1", "t1");
    tags.set("b", "k2", "t2");
    expect(tags.get("b", "k1")).toBe("t1");
    tags.set("c", "k3", "t3");
    expect(tags.get("b", "k1")).toBeUndefined();
    expect(tags.get("b", "k2")).toBeUndefined();
    expect(tags.get("c", "k3")).toBe("t3");
  });

  it("clear forgets everything at once", () => {
    const memo = new PairMemo<number, string>(10);
    memo.set(1, "a", "x");
    memo.clear();
    expect(memo.get(1, "a")).toBeUndefined();
  });

  it("finds what was set under an outer it had just missed, and keeps outers apart as they alternate", () => {
    const memo = new PairMemo<string, number>(10);
    expect(memo.get("b", "k")).toBeUndefined(); // remembers that "b" has no inner map yet
    memo.set("b", "k", 1);
    expect(memo.get("b", "k")).toBe(1);
    memo.set("c", "k", 2);
    expect(memo.get("b", "k")).toBe(1);
    expect(memo.get("c", "k")).toBe(2);
    memo.clear();
    memo.set("c", "j", 3);
    expect(memo.get("c", "k")).toBeUndefined(); // not the inner map from before the clear
    expect(memo.get("c", "j")).toBe(3);
  });
});
