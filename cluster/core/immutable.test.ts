// Tests for freezeJson (lesson 2): what the simulator and the node share instead of copying must
// be frozen all the way down, and must be plain JSON, as a copy over TCP or on disk would be.
import { describe, expect, it } from "vitest";
import { freezeJson, jsonDepthMax } from "./immutable.ts";

describe("freezeJson", () => {
  it("freezes every object and array inside, so a change in place throws", () => {
    const message = freezeJson({
      type: "repair",
      object: { clock: { a: 1 }, siblings: [{ v: 1 }] },
    });
    expect(Object.isFrozen(message.object.clock)).toBe(true);
    expect(Object.isFrozen(message.object.siblings[0])).toBe(true);
    expect(() => {
      (message.object.clock as Record<string, number>).a = 2;
    }).toThrow(TypeError);
    expect(() => (message.object.siblings as unknown[]).push({})).toThrow(TypeError);
    expect(message.object.clock.a).toBe(1);
  });

  it("returns the same value and accepts every kind of JSON", () => {
    const value = { n: 1.5, s: "x", b: false, z: null, list: [1, "two", [3]], empty: {} };
    expect(freezeJson(value)).toBe(value);
    expect(JSON.parse(JSON.stringify(value))).toEqual(value);
  });

  it("refuses what a JSON copy would change, with a one-line message", () => {
    expect(() => freezeJson({ id: "a", hintFor: undefined })).toThrow(
      "Expected `hintFor` to be a JSON value, got undefined",
    );
    expect(() => freezeJson({ timestamp: Number.NaN })).toThrow(
      "Expected timestamp to be finite, got NaN",
    );
    expect(() => freezeJson({ members: new Map() })).toThrow(
      "Expected members to be a plain object, got a Map",
    );
    expect(() => freezeJson({ hash: 1n })).toThrow("Expected hash to be plain JSON, got bigint");
    let deep: unknown = 1;
    for (let level = 0; level <= jsonDepthMax; level += 1) deep = [deep];
    expect(() => freezeJson(deep)).toThrow(`nested at most ${jsonDepthMax} deep`);
  });

  it("shares parts that are frozen already instead of walking or copying them", () => {
    const shared = freezeJson({ clock: { a: 1 } });
    const message = { type: "read-reply", object: shared, extra: [1] };
    freezeJson(message);
    expect(Object.isFrozen(message.extra)).toBe(true);
    expect(message.object).toBe(shared); // shared, not copied
  });
});
