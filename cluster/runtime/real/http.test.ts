// The HTTP boundary's pure checks (lesson 7: refuse what can never succeed, and say why).
import { describe, expect, it } from "vitest";
import {
  HttpError,
  integerParameters,
  jsonDepth,
  nameProblem,
  parseTarget,
  parseValue,
} from "./http.ts";

describe("parseTarget", () => {
  it("keeps dot segments and encoded slashes as they are", () => {
    expect(parseTarget("/kv/b/../k").segments).toEqual(["kv", "b", "..", "k"]);
    expect(parseTarget("/kv/b/a%2Fb?n=3").segments).toEqual(["kv", "b", "a%2Fb"]);
    expect(parseTarget("/kv/b/k?n=3&w=2").query.get("w")).toBe("2");
  });

  it("refuses targets that are not paths", () => {
    expect(() => parseTarget("*")).toThrow(HttpError);
    expect(() => parseTarget("http://elsewhere/kv/b/k")).toThrow(/starts with \//);
  });
});

describe("nameProblem", () => {
  it("accepts odd but harmless names", () => {
    for (const name of ["k", "../etc/passwd", "\u{1F600}", "a/b", " "]) {
      expect(nameProblem(name, "key", 512)).toBeUndefined();
    }
  });

  it("refuses empty, control characters, lone surrogates and names over the limit in bytes", () => {
    expect(nameProblem("", "key", 512)).toMatch(/non-empty/);
    expect(nameProblem("a\u0000b", "key", 512)).toMatch(/control/);
    expect(nameProblem("a\nb", "key", 512)).toMatch(/control/);
    expect(nameProblem("\uD800", "key", 512)).toMatch(/well-formed/);
    expect(nameProblem("k".repeat(513), "key", 512)).toMatch(/at most 512 bytes/);
    // 128 emoji are 512 bytes: exactly at the limit; one more is over.
    expect(nameProblem("\u{1F600}".repeat(128), "key", 512)).toBeUndefined();
    expect(nameProblem("\u{1F600}".repeat(129), "key", 512)).toMatch(/516/);
  });
});

describe("integerParameters", () => {
  const parse = (query: string) =>
    integerParameters(new URLSearchParams(query), ["n", "w", "timeout_ms"], 60_000);

  it("reads the allowed parameters and leaves absent ones undefined", () => {
    expect(parse("n=3&w=2")).toEqual({ n: 3, w: 2, timeout_ms: undefined });
    expect(parse("timeout_ms=60000")).toEqual({ n: undefined, w: undefined, timeout_ms: 60_000 });
  });

  it("refuses unknown, repeated, non-integer and out-of-range values", () => {
    for (const query of [
      "W=2",
      "r=2",
      "n=1&n=1",
      "n=1.5",
      "n=",
      "n=-1",
      "n=0",
      "n=abc",
      "timeout_ms=60001",
      "n=1e2",
    ]) {
      expect(() => parse(query), query).toThrow(HttpError);
    }
  });
});

describe("parseValue", () => {
  it("parses any JSON value", () => {
    expect(parseValue(Buffer.from('{"a":[1,null,"x"]}'), 64)).toEqual({ a: [1, null, "x"] });
    expect(parseValue(Buffer.from("0"), 64)).toBe(0);
  });

  it("refuses an empty body, bad JSON and values nested too deep", () => {
    expect(() => parseValue(Buffer.alloc(0), 64)).toThrow(/empty/);
    expect(() => parseValue(Buffer.from("{"), 64)).toThrow(/JSON/);
    expect(() => parseValue(Buffer.from("[".repeat(65) + "]".repeat(65)), 64)).toThrow(/nested/);
    expect(jsonDepth(JSON.parse("[".repeat(64) + "]".repeat(64)) as never, 64)).toBe(64);
  });
});
