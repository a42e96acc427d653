// Tests for dotted version vectors (lesson 6): the Dynamo paper's D1..D5 example, merge laws,
// tombstones, lww, and the opaque context encoding.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { freezeJson } from "./immutable.ts";
import type { JsonValue } from "./types.ts";
import {
  contextLengthMax,
  decodeContext,
  decodeContextText,
  encodeContext,
  decodeVersion,
  encodeVersion,
  encodedVersionBytes,
  isDeleted,
  joinClocks,
  merge,
  sameVersion,
  update,
  versionFingerprint,
  type Sibling,
  type VersionedObject,
  type VersionVector,
} from "./versions.ts";

const write = (
  local: VersionedObject | null,
  actor: string,
  value: string,
  context: VersionVector = {},
  timestamp = 0,
) => update(local, { mode: "causal", value, tombstone: false, context, actor, timestamp });

const values = (object: VersionedObject | null) => object?.siblings.map((s) => s.value) ?? [];

describe("dotted version vectors", () => {
  it("replays the Dynamo paper's D1..D5 example (figure 3)", () => {
    const d1 = write(null, "Sx", "D1");
    const d2 = write(d1, "Sx", "D2", d1.clock);
    expect(values(d2)).toEqual(["D2"]);
    expect(d2.clock).toEqual({ Sx: 2 });
    // Sy and Sz each received D2 by replication, then coordinate writes based on it.
    const d3 = write(d2, "Sy", "D3", d2.clock);
    const d4 = write(d2, "Sz", "D4", d2.clock);
    expect(d3.clock).toEqual({ Sx: 2, Sy: 1 });
    expect(d4.clock).toEqual({ Sx: 2, Sz: 1 });
    // A read sees both: they are concurrent, so both survive as siblings.
    const read = merge(d3, d4)!;
    expect(values(read).sort()).toEqual(["D3", "D4"]);
    expect(read.clock).toEqual({ Sx: 2, Sy: 1, Sz: 1 });
    // Sx coordinates a write with the read's context: it supersedes both.
    const sxLocal = merge(d2, d3); // Sx holds D3 by now, not D4
    const d5 = write(sxLocal, "Sx", "D5", read.clock);
    expect(values(d5)).toEqual(["D5"]);
    expect(d5.clock).toEqual({ Sx: 3, Sy: 1, Sz: 1 });
    // Any replica still holding D4 drops it when D5 arrives.
    expect(values(merge(d4, d5))).toEqual(["D5"]);
  });

  it("keeps a blind concurrent write as a sibling instead of losing it", () => {
    const a = write(null, "A", "first");
    const b = write(a, "A", "second"); // no context: concurrent with "first"
    expect(values(b).sort()).toEqual(["first", "second"]);
    const collapsed = write(b, "A", "merged", b.clock);
    expect(values(collapsed)).toEqual(["merged"]);
  });

  it("writes a tombstone that supersedes what the context saw", () => {
    const a = write(null, "A", "v");
    const deleted = update(a, {
      mode: "causal",
      value: null,
      tombstone: true,
      context: a.clock,
      actor: "B",
      timestamp: 0,
    });
    expect(isDeleted(deleted)).toBe(true);
    expect(isDeleted(merge(a, deleted)!)).toBe(true);
  });

  it("last write wins in lww mode, by timestamp, even when it is the older write", () => {
    const lww = (local: VersionedObject | null, actor: string, value: string, timestamp: number) =>
      update(local, { mode: "lww", value, tombstone: false, context: {}, actor, timestamp });
    const late = lww(null, "A", "written-second-with-slow-clock", 100);
    const early = lww(null, "B", "written-first-with-fast-clock", 5_000);
    expect(values(merge(late, early))).toEqual(["written-first-with-fast-clock"]);
    expect(values(merge(early, late))).toEqual(["written-first-with-fast-clock"]);
  });

  const objectArbitrary = fc
    .array(
      fc.record({
        actor: fc.constantFrom("A", "B", "C"),
        value: fc.string({ maxLength: 3 }),
        seeContext: fc.boolean(),
        base: fc.nat(5),
      }),
      { minLength: 1, maxLength: 6 },
    )
    .map((steps) => {
      // Build a family of replicas by writing on top of earlier ones, as a cluster would: the
      // replica of actor X first merges the version it received into its own copy, then mints
      // on top of that copy, so X never mints the same dot twice (a real actor cannot; two
      // different writes both named (X, 2) would make merges drop both).
      const family: VersionedObject[] = [];
      const replicas = new Map<string, VersionedObject>();
      for (const step of steps) {
        const base = family.length === 0 ? null : family[step.base % family.length]!;
        const local = merge(replicas.get(step.actor) ?? null, base);
        const context = step.seeContext && base !== null ? base.clock : {};
        const written = write(local, step.actor, step.value, context);
        replicas.set(step.actor, written);
        family.push(written);
      }
      return family;
    });

  it("merges commutatively, associatively and idempotently", () => {
    fc.assert(
      fc.property(objectArbitrary, fc.nat(), fc.nat(), fc.nat(), (family, i, j, k) => {
        const a = family[i % family.length]!;
        const b = family[j % family.length]!;
        const c = family[k % family.length]!;
        expect(sameVersion(merge(a, b), merge(b, a))).toBe(true);
        expect(sameVersion(merge(merge(a, b), c), merge(a, merge(b, c)))).toBe(true);
        expect(sameVersion(merge(a, a), a)).toBe(true);
        // merge(a, a) and sameVersion(a, a) answer at once for the very same object; the full
        // merge of an equal copy must say the same, and out-of-order siblings still get sorted.
        const copy = JSON.parse(JSON.stringify(a)) as VersionedObject;
        expect(merge(a, a)).toBe(a);
        expect(merge(a, copy)).toEqual(a);
        expect(sameVersion(a, copy)).toBe(true);
        const unsorted = { ...a, siblings: [...a.siblings].reverse() };
        expect(merge(unsorted, unsorted)!.siblings).toEqual(a.siblings);
      }),
    );
  });

  it("merges siblings as the plain definition does (the linear walk is only faster)", () => {
    // The definition, written plainly: a sibling survives if the other side holds it too, or
    // has never seen it; the result is sorted by dot. versions.ts walks both sorted lists once.
    const sameDot = (x: Sibling, y: Sibling) => x.dot[0] === y.dot[0] && x.dot[1] === y.dot[1];
    const keep = (mine: Sibling[], theirs: VersionedObject) =>
      mine.filter(
        (sibling) =>
          theirs.siblings.some((other) => sameDot(other, sibling)) ||
          (theirs.clock[sibling.dot[0]] ?? 0) < sibling.dot[1],
      );
    const reference = (a: VersionedObject, b: VersionedObject): Sibling[] => {
      const fromA = keep(a.siblings, b);
      const fromB = keep(b.siblings, a).filter((x) => !fromA.some((y) => sameDot(x, y)));
      return [...fromA, ...fromB].sort((x, y) =>
        x.dot[0] === y.dot[0] ? x.dot[1] - y.dot[1] : x.dot[0] < y.dot[0] ? -1 : 1,
      );
    };
    fc.assert(
      fc.property(objectArbitrary, fc.nat(), fc.nat(), fc.boolean(), (family, i, j, reverse) => {
        const a = family[i % family.length]!;
        const stored = family[j % family.length]!;
        // Out-of-order siblings (never written by this module) are sorted first, not mis-merged.
        const b = reverse ? { ...stored, siblings: [...stored.siblings].reverse() } : stored;
        expect(merge(a, b)!.siblings).toEqual(reference(a, b));
      }),
      { numRuns: 500 },
    );
  });

  it("keeps, on a write, the siblings its context has not seen plus the new one, in dot order", () => {
    fc.assert(
      fc.property(
        objectArbitrary,
        fc.nat(),
        fc.nat(),
        fc.constantFrom("A", "B", "C", "D"),
        (family, i, j, actor) => {
          const local = family[i % family.length]!;
          const context = family[j % family.length]!.clock;
          const written = write(local, actor, "new!", context);
          // The plain definition: filter, append, sort by (actor, counter).
          const expected = [
            ...local.siblings.filter((s) => (context[s.dot[0]] ?? 0) < s.dot[1]),
            written.siblings.find((s) => s.value === "new!" && s.dot[0] === actor)!,
          ].sort((x, y) =>
            x.dot[0] === y.dot[0] ? x.dot[1] - y.dot[1] : x.dot[0] < y.dot[0] ? -1 : 1,
          );
          expect(written.siblings).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("encodes a version exactly as JSON.stringify does, from cached sibling texts too", () => {
    fc.assert(
      fc.property(objectArbitrary, fc.nat(), fc.nat(), (family, i, j) => {
        const merged = merge(family[i % family.length]!, family[j % family.length]!)!;
        expect(encodeVersion(merged)).toBe(JSON.stringify(merged));
        for (const sibling of merged.siblings) Object.freeze(sibling); // now cached...
        expect(encodeVersion(merged)).toBe(JSON.stringify(merged));
        expect(encodeVersion(merged)).toBe(JSON.stringify(merged)); // ...and read from the cache
      }),
    );
    const lww = update(null, {
      mode: "lww",
      value: { nested: ["a", 1, null] },
      tombstone: true,
      context: {},
      actor: "n1@x",
      timestamp: 12.5,
    });
    expect(encodeVersion(lww)).toBe(JSON.stringify(lww));
  });

  it("counts a version's stored bytes exactly as UTF-8 of its text, any text in it", () => {
    // Any UTF-16 units, lone surrogates too (JSON escapes them), in values and in actors.
    const text = fc.string({ unit: "binary", maxLength: 6 });
    const utf8Bytes = (value: string) => new TextEncoder().encode(value).length;
    fc.assert(
      fc.property(fc.array(fc.tuple(text, text), { minLength: 1, maxLength: 5 }), (writes) => {
        let version: VersionedObject | null = null;
        for (const [actor, value] of writes) {
          version = write(version, `n${actor}`, value);
          expect(encodedVersionBytes(version)).toBe(utf8Bytes(encodeVersion(version)));
          freezeJson(version); // now counted once and remembered, as a stored version is
          expect(encodedVersionBytes(version)).toBe(utf8Bytes(encodeVersion(version)));
          expect(encodedVersionBytes(version)).toBe(utf8Bytes(JSON.stringify(version)));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("a write's clock is the join of the old clock with the new dot, in the same key order", () => {
    // Actors that read as array indexes ("7", "10") are listed first by any object whatever the
    // order they were added in: the clock a write builds must still be joinClocks's.
    const actor = fc.constantFrom("7", "10", "a", "b@x", "n1@1", "é");
    fc.assert(
      fc.property(
        fc.array(fc.tuple(actor, fc.boolean()), { minLength: 1, maxLength: 8 }),
        (steps) => {
          let version: VersionedObject | null = null;
          for (const [writer, withContext] of steps) {
            const before: VersionedObject | null = version;
            const context = withContext && before !== null ? before.clock : {};
            version = write(before, writer, "v", context);
            const counter = (before?.clock[writer] ?? 0) + 1; // the dot update() mints
            const expected = joinClocks(joinClocks(before?.clock ?? {}, context), {
              [writer]: counter,
            });
            expect(Object.entries(version.clock)).toEqual(Object.entries(expected));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("counts a sibling's bytes from its parts as JSON would: any value, timestamp, tombstone", () => {
    const utf8Bytes = (value: string) => new TextEncoder().encode(value).length;
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 6 }),
        fc.jsonValue({ maxDepth: 2 }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.boolean(),
        (actor, value, timestamp, tombstone) => {
          const version = freezeJson(
            update(null, {
              mode: "causal",
              value: value as JsonValue,
              tombstone,
              context: {},
              actor,
              timestamp,
            }),
          );
          expect(encodedVersionBytes(version)).toBe(utf8Bytes(JSON.stringify(version)));
        },
      ),
      { numRuns: 500 },
    );
    // A sibling in another key order (read from some other writer's text) is counted from its
    // text, in its own order.
    const odd = freezeJson(
      JSON.parse(
        '{"mode":"causal","clock":{"a":1},"siblings":[{"value":"é","dot":["a",1],"timestamp":-0.5,"tombstone":false,"extra":1}]}',
      ) as VersionedObject,
    );
    expect(encodedVersionBytes(odd)).toBe(utf8Bytes(JSON.stringify(odd)));
  });

  it("counts clocks' bytes right for counters of any size", () => {
    const utf8Bytes = (value: string) => new TextEncoder().encode(value).length;
    for (const counterFloor of [0, 8, 9, 99, 12_344, 999_999_999, 1e12, 2 ** 53 - 2]) {
      const version = update(null, {
        mode: "causal",
        value: 1,
        tombstone: false,
        context: { a: 10, "n1@é": 100 },
        actor: "b",
        timestamp: 0,
        counterFloor,
      });
      expect(encodedVersionBytes(version)).toBe(utf8Bytes(JSON.stringify(version)));
    }
  });

  it("counts a version's bytes from the version it replaces, looking only at what changed", () => {
    const text = fc.string({ unit: "binary", maxLength: 6 });
    const utf8Bytes = (value: string) => new TextEncoder().encode(value).length;
    const step = fc.record({
      actor: fc.constantFrom("A", "B", "é"),
      value: text,
      merge: fc.nat(4),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 8 }), (steps) => {
        // Two replicas' histories: writes on top of one, now and then a merge of the other in,
        // the way a replica's stored version is replaced by the next one.
        let mine: VersionedObject | null = null;
        let theirs: VersionedObject | null = null;
        for (const { actor, value, merge: mergeNow } of steps) {
          const next: VersionedObject =
            mergeNow === 0 && theirs !== null ? merge(mine, theirs)! : write(mine, actor, value);
          theirs = write(theirs, "other", value);
          freezeJson(next);
          freezeJson(theirs);
          if (mine !== null) {
            const previous = { object: mine, bytes: utf8Bytes(encodeVersion(mine)) };
            expect(encodedVersionBytes(next, previous)).toBe(utf8Bytes(encodeVersion(next)));
          }
          mine = next;
        }
      }),
      { numRuns: 300 },
    );
  });

  it("fingerprints two versions alike exactly when their stored texts are alike", () => {
    fc.assert(
      fc.property(objectArbitrary, fc.nat(), fc.nat(), (family, i, j) => {
        const a = family[i % family.length]!;
        const b = family[j % family.length]!;
        const sameText = JSON.stringify(a) === JSON.stringify(b);
        expect(versionFingerprint(a) === versionFingerprint(b)).toBe(sameText);
        expect(versionFingerprint(JSON.parse(JSON.stringify(a)) as VersionedObject)).toBe(
          versionFingerprint(a),
        );
      }),
    );
    // A reaped tombstone lets its actor mint the same dot again, with another timestamp:
    // same clock, same dots, different versions, and anti-entropy must tell them apart.
    const first = update(null, {
      mode: "causal",
      value: null,
      tombstone: true,
      context: {},
      actor: "n1@a",
      timestamp: 30,
    });
    const again = { ...first, siblings: [{ ...first.siblings[0]!, timestamp: 142 }] };
    expect(again.clock).toEqual(first.clock);
    expect(versionFingerprint(again)).not.toBe(versionFingerprint(first));
  });

  it("round-trips contexts and refuses ones it did not issue", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ minLength: 1, maxLength: 12 }).filter((actor) => actor !== "__proto__"),
          fc.integer({ min: 1, max: 1e9 }),
        ),
        (clock) => {
          const text = encodeContext(clock, "tag");
          // encodeContext remembers what the text decodes to; the decoder proper must agree.
          expect(decodeContextText(text)).toEqual({ tag: "tag", clock });
          expect(decodeContext(text)).toEqual({ tag: "tag", clock });
          // A stored version's clock is frozen: its text is made once. A write's answer makes it
          // without remembering the decoding, a read's answer then remembers it: the same text,
          // decoded alike either way.
          const frozen = Object.freeze({ ...clock });
          const answered = encodeContext(frozen, "tag2", false);
          expect(decodeContext(answered)).toEqual({ tag: "tag2", clock });
          expect(encodeContext(frozen, "tag2")).toBe(answered);
          expect(decodeContext(answered)).toEqual(decodeContextText(answered));
        },
      ),
    );
    // Actors beyond ASCII (UTF-8 through TextEncoder), and a clock longer than one
    // String.fromCharCode call takes.
    const wide: Record<string, number> = { é: 1, 日本: 2, "a😀": 3 };
    const long = Object.fromEntries(
      Array.from({ length: 250 }, (_, index) => [`node-${index}@x`, index + 1]),
    );
    for (const clock of [wide, long]) {
      const text = encodeContext(clock, "tag");
      expect(text.length).toBeLessThanOrEqual(contextLengthMax);
      expect(decodeContextText(text)).toEqual({ tag: "tag", clock });
    }
    const tooLong = {
      ...long,
      ...Object.fromEntries(Object.entries(long).map(([a, c]) => [`${a}y`, c])),
    };
    expect(encodeContext(tooLong, "tag").length).toBeGreaterThan(contextLengthMax);
    expect(decodeContext(encodeContext(tooLong, "tag"))).toBeUndefined();
    // A clock the decoder refuses is not remembered as decoded by the encoder either.
    expect(decodeContext(encodeContext({ a: 0 }, "tag"))).toBeUndefined();
    expect(decodeContext(encodeContext({ a: 1.5 }, "tag"))).toBeUndefined();
    // e30 = "{}" (no key tag), W10 = "[]", eyJhIjotMX0 = {"a":-1}; then plain garbage.
    for (const bad of ["", "!!!", "a", "e30", "W10", "eyJhIjotMX0", "x".repeat(9000)]) {
      expect(decodeContext(bad)).toBeUndefined();
    }
  });
});

describe("decodeVersion", () => {
  it("gives the stored version frozen, and remembers its text as its encoding", () => {
    // Keys in another order than encodeVersion writes them: only a remembered text comes back so.
    const text =
      '{"siblings":[{"value":1,"dot":["n1",1],"timestampMs":3}],"clock":{"n1":1},"mode":"causal"}';
    const version = decodeVersion(text);
    expect(version).toEqual(JSON.parse(text));
    expect(Object.isFrozen(version.siblings[0])).toBe(true);
    expect(encodeVersion(version)).toBe(text);
    // An object that was not decoded is encoded anew, in encodeVersion's own order.
    expect(encodeVersion(JSON.parse(text) as typeof version)).toBe(
      '{"mode":"causal","clock":{"n1":1},"siblings":[{"value":1,"dot":["n1",1],"timestampMs":3}]}',
    );
  });
});
