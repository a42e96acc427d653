// Tests for the pure-TypeScript SHA-1 (lesson 4): it must give node:crypto's digest on every
// input, or a key would land on different partitions in the browser and in the real runtime.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha1, sha1Hex } from "./sha1.ts";

const nodeSha1Hex = (input: string | Uint8Array) => createHash("sha1").update(input).digest("hex");

describe("sha1", () => {
  // FIPS 180-2 appendix A vectors, plus the boundaries of the padding (55, 56 and 64 bytes).
  const vectors = [
    "",
    "abc",
    "abcdbcdecdefdefgefghfghighijhijkijkljklmjklmnklmnolmnopmnopqnopq",
    "a".repeat(55),
    "a".repeat(56),
    "a".repeat(64),
    "héllo, wörld ✓ 🌍",
  ];
  for (const text of vectors) {
    it(`matches node:crypto on ${JSON.stringify(text.slice(0, 20))} (${text.length} chars)`, () => {
      expect(sha1Hex(text)).toBe(nodeSha1Hex(text));
    });
  }

  it("gives the published digests of the FIPS vectors", () => {
    expect(sha1Hex("abc")).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
    expect(sha1Hex("")).toBe("da39a3ee5e6b4b0d3255bfef95601890afd80709");
  });

  it("matches node:crypto on a million 'a's", () => {
    const text = "a".repeat(1_000_000);
    expect(sha1Hex(text)).toBe("34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    expect(sha1Hex(text)).toBe(nodeSha1Hex(text));
  });

  it("matches node:crypto on random strings (UTF-8)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (text) => {
        expect(sha1Hex(text)).toBe(nodeSha1Hex(text));
      }),
      { numRuns: 300 },
    );
  });

  it("matches node:crypto on random bytes, including views into larger buffers", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(8), (bytes, start) => {
        const view = bytes.subarray(Math.min(start, bytes.length));
        expect(Array.from(sha1(view))).toEqual(
          Array.from(createHash("sha1").update(view).digest()),
        );
      }),
      { numRuns: 300 },
    );
  });

  it("rejects what is not bytes or text with a one-line message", () => {
    expect(() => sha1("abc" as unknown as Uint8Array)).toThrow(
      "Expected `bytes` to be a Uint8Array, got string",
    );
    expect(() => sha1Hex(5 as unknown as string)).toThrow(
      "Expected `text` to be a string, got number",
    );
  });
});
