// The EDN reader and writer (lesson 1): Jepsen's notation, read exactly and written back.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  EdnKeyword,
  EdnList,
  EdnMap,
  EdnSet,
  EdnSymbol,
  EdnSyntaxError,
  EdnTagged,
  readEdn,
  readEdnForms,
  writeEdn,
} from "./edn.ts";
import type { EdnValue } from "./edn.ts";

describe("readEdn", () => {
  it("reads every kind of value a history holds", () => {
    const value = readEdn(
      '{:type :ok, :f :cas, :value [1 2.5 -3], :tags #{:a}, :l (x nil true false), :s "a\\"b\\n\\u0041"}',
    );
    expect(value).toBeInstanceOf(EdnMap);
    const map = value as EdnMap;
    expect(map.get("type")).toEqual(new EdnKeyword("ok"));
    expect(map.get("value")).toEqual([1, 2.5, -3]);
    expect(map.get("tags")).toEqual(new EdnSet([new EdnKeyword("a")]));
    expect(map.get("l")).toEqual(new EdnList([new EdnSymbol("x"), null, true, false]));
    expect(map.get("s")).toBe('a"b\nA');
    expect(map.get("missing")).toBeUndefined();
  });

  it("treats commas as whitespace and skips comments and #_ forms", () => {
    expect(readEdn("[1,2 ,, 3 ; a comment\n #_ 99 4]")).toEqual([1, 2, 3, 4]);
  });

  it("reads big integers, tagged literals and character literals", () => {
    expect(readEdn("12345678901234567890")).toBe(12345678901234567890n);
    expect(readEdn('#inst "2020-01-01"')).toEqual(new EdnTagged("inst", "2020-01-01"));
    expect(readEdn("[\\a \\newline]")).toEqual(["a", "\n"]);
  });

  it("gives the line of each top-level form", () => {
    const forms = readEdnForms("{:a 1}\n\n{:b\n 2}\n{:c 3}");
    expect(forms.map((form) => form.line)).toEqual([1, 3, 5]);
  });

  it.each([
    ["[1 2", 1, "unclosed"],
    ['"abc', 1, "unterminated string"],
    ["{:a 1 :b}", 1, "even number"],
    ["\n\n)", 3, "unexpected"],
    ['"\\q"', 1, "unknown string escape"],
    ["#foo", 1, "unexpected end"],
  ])("refuses %j at line %i with a reason", (text, line, reason) => {
    try {
      readEdn(text);
      expect.unreachable("should have thrown");
    } catch (error) {
      expect(error).toBeInstanceOf(EdnSyntaxError);
      expect((error as EdnSyntaxError).line).toBe(line);
      expect((error as EdnSyntaxError).reason).toContain(reason);
    }
  });

  it("refuses nesting deeper than the limit", () => {
    expect(() => readEdn("[".repeat(100) + "]".repeat(100))).toThrow(EdnSyntaxError);
  });
});

const ednArbitrary = fc.letrec<{ value: EdnValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((value) => !Object.is(value, -0)),
    fc.string(),
    fc.stringMatching(/^[a-z][a-z0-9-]*$/).map((name) => new EdnKeyword(name)),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.array(tie("value"), { maxLength: 4 }).map((items) => new EdnList(items)),
    fc
      .array(fc.tuple(tie("value"), tie("value")), { maxLength: 3 })
      .map((entries) => new EdnMap(entries)),
  ),
})).value;

describe("writeEdn", () => {
  it("writes what readEdn reads back", () => {
    fc.assert(
      fc.property(ednArbitrary, (value) => {
        expect(readEdn(writeEdn(value))).toEqual(value);
      }),
      { numRuns: 300 },
    );
  });

  it("writes integers beyond 2^53 so that they read back as numbers", () => {
    expect(readEdn(writeEdn(-9007199254740992))).toBe(-9007199254740992);
  });

  it("escapes strings", () => {
    expect(writeEdn('say "hi"\n')).toBe('"say \\"hi\\"\\n"');
  });
});
