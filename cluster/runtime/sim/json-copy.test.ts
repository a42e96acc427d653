// The simulator copies a client's request and its answer with jsonCopy instead of a JSON round
// trip (cheaper); the copy must be exactly what the round trip gives, for every kind of value.
import { describe, expect, it } from "vitest";
import { jsonCopy } from "./simulator.ts";

const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;

describe("jsonCopy", () => {
  it("gives what a JSON round trip gives, undefined, -0, NaN and nesting included", () => {
    const samples: unknown[] = [
      { op: "put", bucket: "b", key: "k", value: 1, context: undefined },
      { status: 200, body: { values: [1, "two", null, true, { deep: [[], {}] }] } },
      { a: -0, b: Number.NaN, c: Number.POSITIVE_INFINITY, d: [undefined, -0, Number.NaN] },
      { "2": "integer keys first", z: 1, "1": 0 },
      [{ when: new Date(0) }, { map: new Map([[1, 2]]) }],
      JSON.parse('{"__proto__": {"polluted": true}, "x": 1}'),
      { f: () => 1, s: Symbol("s"), kept: "yes" },
    ];
    for (const sample of samples) {
      const copy = jsonCopy(sample);
      expect(JSON.stringify(copy)).toBe(JSON.stringify(roundTrip(sample)));
      expect(copy).toStrictEqual(roundTrip(sample));
    }
  });

  it("returns a copy that shares nothing with the original", () => {
    const original = { body: { values: [{ n: 1 }] } };
    const copy = jsonCopy(original);
    copy.body.values[0]!.n = 2;
    expect(original.body.values[0]!.n).toBe(1);
  });

  it("refuses a cycle as JSON does", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => jsonCopy(cyclic)).toThrow(TypeError);
  });
});
