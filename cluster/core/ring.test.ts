// Tests for the ring (lesson 4): key hashing against node:crypto, partition boundaries, the
// header's worked example, and preference-list properties checked with fast-check. These
// tests are the grader for the ring lab's preference-list part.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { claimViolations } from "./claim.ts";
import {
  createRing,
  hashKey,
  keyspaceSize,
  partitionOf,
  partitionOfKey,
  preferenceList,
  type Ring,
} from "./ring.ts";

const names = (count: number) => Array.from({ length: count }, (_, index) => `n${index + 1}`);
const ringSizes = [8, 16, 32, 64, 128, 256, 512, 1024];

const nodeHash = (text: string) => BigInt(`0x${createHash("sha1").update(text).digest("hex")}`);

describe("04b: hashKey", () => {
  it("is SHA-1 of the UTF-8 of bucket/key, as node:crypto computes it", () => {
    expect(hashKey("users", "alice")).toBe(nodeHash("users/alice"));
    expect(hashKey("users", "alice").toString(16).padStart(40, "0")).toBe(
      "dcdba07b21f89cc2734853388f1c9e3d172acc7e",
    );
    expect(hashKey("grüße", "ключ 🔑")).toBe(nodeHash("grüße/ключ 🔑"));
  });

  it("matches node:crypto on random buckets and keys", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (b, k) => {
        const hash = hashKey(b, k);
        expect(hash).toBe(nodeHash(`${b}/${k}`));
        expect(hash >= 0n && hash < keyspaceSize).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("04b: partitionOf", () => {
  it("maps 0 to partition 0 and 2^160 - 1 to partition Q - 1, for every Q", () => {
    for (const partitionCount of ringSizes) {
      expect(partitionOf(0n, partitionCount)).toBe(0);
      expect(partitionOf(keyspaceSize - 1n, partitionCount)).toBe(partitionCount - 1);
    }
  });

  it("starts partition i exactly at i * 2^160 / Q", () => {
    for (const partitionCount of ringSizes) {
      const width = keyspaceSize / BigInt(partitionCount);
      for (const partition of [1, 2, partitionCount / 2, partitionCount - 1]) {
        const start = BigInt(partition) * width;
        expect(partitionOf(start, partitionCount)).toBe(partition);
        expect(partitionOf(start - 1n, partitionCount)).toBe(partition - 1);
      }
    }
  });

  it("agrees with dividing the hash by the partition width", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: keyspaceSize - 1n }),
        fc.constantFrom(...ringSizes),
        (hash, partitionCount) => {
          const width = keyspaceSize / BigInt(partitionCount);
          expect(partitionOf(hash, partitionCount)).toBe(Number(hash / width));
        },
      ),
    );
  });

  it("rejects a hash outside the ring and a bad Q", () => {
    expect(() => partitionOf(-1n, 64)).toThrow(
      "Expected `keyHash` to be a bigint from 0 to 2^160 - 1, got 0x-1",
    );
    expect(() => partitionOf(keyspaceSize, 64)).toThrow(RangeError);
    expect(() => partitionOf(5 as unknown as bigint, 64)).toThrow("got number");
    expect(() => partitionOf(0n, 12)).toThrow(
      "Expected `partitionCount` to be a power of two from 8 to 1024, got 12",
    );
  });

  it("partitionOfKey (the node's fast path, no bigint) equals partitionOf(hashKey(...))", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        fc.string({ maxLength: 40 }),
        fc.constantFrom(...ringSizes),
        (bucket, key, partitionCount) => {
          const expected = Number(
            nodeHash(`${bucket}/${key}`) >> BigInt(160 - Math.log2(partitionCount)),
          );
          expect(partitionOfKey(bucket, key, partitionCount)).toBe(expected);
          expect(partitionOf(hashKey(bucket, key), partitionCount)).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
    expect(() => partitionOfKey("b", "k", 12)).toThrow("power of two");
  });
});

describe("04b: createRing", () => {
  it("builds the header's worked example: 5 nodes, Q = 8", () => {
    const ring = createRing(["a", "b", "c", "d", "e"], 8, 3);
    expect(ring).toEqual({
      partitionCount: 8,
      owners: ["a", "b", "c", "d", "e", "a", "b", "c"],
      version: 1,
    });
    const hash = hashKey("users", "alice");
    expect(partitionOf(hash, 8)).toBe(6);
    expect(preferenceList(ring, hash, 3)).toEqual({
      primaries: [
        { node: "b", partition: 6 },
        { node: "c", partition: 7 },
        { node: "a", partition: 0 },
      ],
      fallbacks: ["d", "e"],
    });
  });

  it("defaults to Q = 64 and N = 3, and is the same on every call", () => {
    const ring = createRing(names(5));
    expect(ring.partitionCount).toBe(64);
    expect(ring.owners).toHaveLength(64);
    expect(claimViolations(ring.owners, 3)).toEqual([]);
    expect(createRing(names(5))).toEqual(ring);
  });

  it("rejects a bad Q or N with the project's message form", () => {
    expect(() => createRing(names(5), 12, 3)).toThrow(
      "Expected `partitionCount` to be a power of two from 8 to 1024, got 12",
    );
    expect(() => createRing(names(5), 64, 0)).toThrow(
      "Expected `targetN` to be an integer from 1 to 16, got 0",
    );
  });
});

describe("04c: preferenceList", () => {
  const ringArbitrary = fc
    .record({
      nodeCount: fc.integer({ min: 1, max: 10 }),
      partitionCount: fc.constantFrom(...ringSizes),
      targetN: fc.integer({ min: 1, max: 5 }),
    })
    .map(({ nodeCount, partitionCount, targetN }) => ({
      nodes: names(nodeCount),
      ring: createRing(names(nodeCount), partitionCount, targetN),
      targetN,
    }));
  const hashArbitrary = fc.bigInt({ min: 0n, max: keyspaceSize - 1n });
  const replicaCountArbitrary = fc.integer({ min: 1, max: 6 });

  it("has min(N, S) distinct primaries, the first owning the key's partition", () => {
    fc.assert(
      fc.property(
        ringArbitrary,
        hashArbitrary,
        replicaCountArbitrary,
        ({ nodes, ring }, hash, n) => {
          const { primaries } = preferenceList(ring, hash, n);
          expect(primaries).toHaveLength(Math.min(n, nodes.length));
          expect(new Set(primaries.map((entry) => entry.node)).size).toBe(primaries.length);
          const start = partitionOf(hash, ring.partitionCount);
          expect(primaries[0]).toEqual({ node: ring.owners[start], partition: start });
          for (const { node, partition } of primaries) expect(ring.owners[partition]).toBe(node);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("walks clockwise: primaries in order from the key's partition, then fallbacks", () => {
    fc.assert(
      fc.property(ringArbitrary, hashArbitrary, replicaCountArbitrary, ({ ring }, hash, n) => {
        const { primaries, fallbacks } = preferenceList(ring, hash, n);
        const start = partitionOf(hash, ring.partitionCount);
        const distance = (partition: number) =>
          (partition - start + ring.partitionCount) % ring.partitionCount;
        const distances = primaries.map((entry) => distance(entry.partition));
        expect(distances).toEqual([...distances].sort((a, b) => a - b));
        // Each node appears where the walk first meets it: no earlier partition of its own.
        const walk = Array.from(
          { length: ring.partitionCount },
          (_, step) => ring.owners[(start + step) % ring.partitionCount]!,
        );
        const firstMet = [...new Set(walk)];
        expect([...primaries.map((entry) => entry.node), ...fallbacks]).toEqual(firstMet);
        for (const { node, partition } of primaries) {
          expect(walk.indexOf(node)).toBe(distance(partition));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("puts every other node of the ring in the fallbacks, once", () => {
    fc.assert(
      fc.property(ringArbitrary, hashArbitrary, replicaCountArbitrary, ({ ring }, hash, n) => {
        const { primaries, fallbacks } = preferenceList(ring, hash, n);
        const all = [...primaries.map((entry) => entry.node), ...fallbacks];
        // More nodes than partitions (9 nodes, Q = 8): a node that owns nothing is on no list.
        const owning = [...new Set(ring.owners)];
        expect([...all].sort()).toEqual(owning.sort());
        expect(fallbacks).toHaveLength(Math.max(0, owning.length - n));
      }),
      { numRuns: 300 },
    );
  });

  it("places the N primaries on N consecutive partitions when the claim is spaced", () => {
    fc.assert(
      fc.property(ringArbitrary, hashArbitrary, ({ nodes, ring, targetN }, hash) => {
        fc.pre(nodes.length >= targetN);
        fc.pre(claimViolations(ring.owners, targetN).length === 0);
        const { primaries } = preferenceList(ring, hash, targetN);
        const start = partitionOf(hash, ring.partitionCount);
        expect(primaries.map((entry) => entry.partition)).toEqual(
          Array.from({ length: targetN }, (_, step) => (start + step) % ring.partitionCount),
        );
      }),
      { numRuns: 200 },
    );
  });

  it("is stable: the same ring and key give the same list", () => {
    fc.assert(
      fc.property(ringArbitrary, fc.string(), fc.string(), ({ nodes, ring, targetN }, b, k) => {
        const again: Ring = createRing(nodes, ring.partitionCount, targetN);
        expect(preferenceList(again, hashKey(b, k), 3)).toEqual(
          preferenceList(ring, hashKey(b, k), 3),
        );
      }),
      { numRuns: 100 },
    );
  });

  it("rejects a bad replica count or a ring whose owners do not match Q", () => {
    const ring = createRing(names(5), 64, 3);
    expect(() => preferenceList(ring, 0n, 0)).toThrow(
      "Expected `replicaCount` to be an integer from 1 to 16, got 0",
    );
    expect(() => preferenceList(ring, 0n, 17)).toThrow("got 17");
    expect(() => preferenceList(ring, 0n, 1.5)).toThrow("got 1.5");
    expect(() => preferenceList({ partitionCount: 64, owners: ["a"] }, 0n, 3)).toThrow(
      "Expected `ring.owners` to hold `partitionCount` (64) owners, got 1",
    );
    expect(() => preferenceList(ring, keyspaceSize, 3)).toThrow(RangeError);
  });
});
