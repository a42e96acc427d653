// validate.ts counts a name's UTF-8 bytes by hand instead of encoding it (every request asks):
// the count must be TextEncoder's for every string, lone surrogates included.
import { describe, expect, it } from "vitest";
import { utf8Length } from "./validate.ts";

const encoder = new TextEncoder();

describe("utf8Length", () => {
  it("counts what TextEncoder writes, for ASCII, 2-, 3- and 4-byte characters and lone surrogates", () => {
    const samples = [
      "",
      "k1",
      "é",
      "€uro",
      "日本語",
      "🙂",
      "a🙂b",
      "\ud800",
      "\udc00x",
      "\ud800\ud800",
      "x\ud83d",
    ];
    for (const sample of samples)
      expect(utf8Length(sample), sample).toBe(encoder.encode(sample).length);
  });

  it("agrees with TextEncoder on 2,000 random strings of mixed code units", () => {
    let state = 7;
    const nextUnit = () => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
      const pick = state % 4;
      return pick === 0
        ? state % 128
        : pick === 1
          ? 0x80 + (state % 0x780)
          : pick === 2
            ? 0xd800 + (state % 0x800)
            : state % 0x10000;
    };
    for (let round = 0; round < 2_000; round += 1) {
      const units = Array.from({ length: 1 + (round % 9) }, nextUnit);
      const text = String.fromCharCode(...units);
      expect(utf8Length(text)).toBe(encoder.encode(text).length);
    }
  });
});
