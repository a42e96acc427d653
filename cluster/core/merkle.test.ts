// The anti-entropy tree (lesson 5): a tree that digests late must be the tree an eager one would
// be, and must count its keys without hashing them.

import { describe, expect, it } from "vitest";
import { PartitionTree } from "./merkle.ts";

/** A small deterministic generator (mulberry32), so a failure names its seed. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

describe("PartitionTree", () => {
  it("counts keys exactly, without hashing, whatever mix of writes, removals and reads", () => {
    for (let seed = 1; seed <= 20; seed += 1) {
      const random = generator(seed);
      let hashed = 0;
      const tree = new PartitionTree<string>((value) => {
        hashed += 1;
        return value;
      });
      const model = new Map<string, string>();
      for (let step = 0; step < 400; step += 1) {
        const key = `k${Math.floor(random() * 30)}`;
        const choice = random();
        if (choice < 0.6) {
          const value = `v${step}`;
          tree.set(key, value);
          model.set(key, value);
        } else if (choice < 0.8) {
          tree.set(key, undefined);
          model.delete(key);
        } else if (choice < 0.9) {
          const before = hashed;
          expect(tree.keyCount, `seed ${seed} step ${step}`).toBe(model.size);
          expect(hashed, "keyCount hashes nothing").toBe(before);
        } else {
          expect(tree.keys(), `seed ${seed} step ${step}`).toEqual([...model.keys()].sort());
        }
      }
      expect(tree.keyCount).toBe(model.size);
    }
  });

  it("reaches the same root digesting late as digesting every write at once", () => {
    const random = generator(7);
    const late = new PartitionTree<string>();
    const eager = new PartitionTree<string>();
    for (let step = 0; step < 500; step += 1) {
      const key = `k${Math.floor(random() * 40)}`;
      const value = random() < 0.8 ? `v${step}` : undefined;
      late.set(key, value);
      eager.set(key, value);
      eager.root(); // reading settles every noted write
      if (step % 97 === 0) expect(late.root()).toBe(eager.root());
    }
    expect(late.root()).toBe(eager.root());
    expect(late.segmentHashes()).toEqual(eager.segmentHashes());
  });
});
