// The anti-entropy tree (lesson 5) digests writes late (merkle.ts): whatever mix of writes,
// removals and reads, a tree must answer exactly what one built from scratch over the final
// contents answers: the same keys, count, root, segment hashes and per-segment digests.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PartitionTree, segmentCount } from "./merkle.ts";

/** A tree built in one go from the final contents: the reference. */
function fromScratch(contents: Map<string, string>): PartitionTree {
  const tree = new PartitionTree();
  for (const [key, fingerprint] of contents) tree.set(key, fingerprint);
  return tree;
}

function picture(tree: PartitionTree) {
  return {
    keys: tree.keys(),
    keyCount: tree.keyCount,
    root: tree.root(),
    segments: tree.segmentHashes(),
    keysOf: Array.from({ length: segmentCount }, (_, segment) => tree.keysOf(segment)),
  };
}

const step = fc.record({
  key: fc.constantFrom("a", "b", "c", "d", "e", "f", "g", "h"),
  // undefined: the key is removed; "read": the tree is read here (it settles).
  value: fc.option(fc.constantFrom("v1", "v2", "v3", "read"), { nil: undefined }),
});

describe("anti-entropy tree", () => {
  it("reads the same however writes, removals and reads interleave (late digests)", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const tree = new PartitionTree();
        const contents = new Map<string, string>();
        for (const { key, value } of steps) {
          if (value === "read") {
            expect(tree.keyCount).toBe(contents.size);
            expect(tree.keys()).toEqual([...contents.keys()].sort());
            if (key < "c") tree.root(); // settles now and then, not always
            continue;
          }
          tree.set(key, value);
          if (value === undefined) contents.delete(key);
          else contents.set(key, value);
        }
        expect(picture(tree)).toEqual(picture(fromScratch(contents)));
      }),
      { numRuns: 300 },
    );
  });

  it("hashes a value through fingerprintOf, and only when read", () => {
    const hashed: number[] = [];
    const tree = new PartitionTree<number>((value) => {
      hashed.push(value);
      return `v${value}`;
    });
    for (let value = 1; value <= 5; value += 1) tree.set("k", value);
    expect(tree.keyCount).toBe(1);
    expect(hashed).toEqual([]);
    const root = tree.root();
    expect(hashed).toEqual([5]);
    expect(root).toBe(fromScratch(new Map([["k", "v5"]])).root());
  });
});
