// validateClientRequest's name limits (lesson 7: refuse what can never succeed, and say why):
// bucket and key sizes count UTF-8 bytes exactly as TextEncoder does, surrogates included.
import { describe, expect, it } from "vitest";
import type { ClientRequest } from "./types.ts";
import { keySizeMaxBytes, validateClientRequest } from "./validate.ts";

const config = {
  nodes: ["n1", "n2", "n3"],
  partitionCount: 8,
  defaults: { n: 3, r: 2, w: 2, timeoutMs: 1_000 },
  bucketModes: {},
};
const get = (key: string): ClientRequest => ({ op: "get", bucket: "b", key });
const bytes = (text: string) => new TextEncoder().encode(text).length;

describe("bucket and key sizes", () => {
  it("accept a key of exactly the limit in bytes and refuse one byte more, whatever its characters", () => {
    const units = ["a", "é", "€", "\u{1F600}", "\uD800", "\uDC00"];
    for (const unit of units) {
      for (let count = 1; count * unit.length <= keySizeMaxBytes; count *= 2) {
        const key = unit.repeat(count);
        const problem = validateClientRequest(get(key), config);
        if (bytes(key) > keySizeMaxBytes) {
          expect(problem).toBe(
            `Expected \`key\` to be at most ${keySizeMaxBytes} bytes, got ${bytes(key)}`,
          );
        } else {
          expect(problem).toBeUndefined();
        }
      }
    }
    expect(validateClientRequest(get("k".repeat(keySizeMaxBytes)), config)).toBeUndefined();
    expect(validateClientRequest(get("k".repeat(keySizeMaxBytes + 1)), config)).toMatch(
      /at most 512 bytes, got 513/,
    );
    expect(validateClientRequest(get("€".repeat(171)), config)).toMatch(/got 513/);
    expect(validateClientRequest(get(""), config)).toBe("Expected `key` to be non-empty");
  });
});
