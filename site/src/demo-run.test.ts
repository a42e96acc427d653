// Tests for the demo run behind the "play a partition live" page (lesson 3): the URL's seed is
// checked at the boundary, the run holds one partition from 10 s to 20 s, and the trace text
// rounds times to whole nanoseconds. These run in Node only; site/browser.test.ts runs the page.

import { describe, expect, test } from "vitest";
import { defaultSeed, parseSeed, runDemo, seedMax, traceText } from "./demo-run.ts";

describe("parseSeed", () => {
  test("reads ?seed= and falls back to the default", () => {
    expect(parseSeed("?seed=7")).toBe(7);
    expect(parseSeed("?seed=0")).toBe(0);
    expect(parseSeed(`?seed=${seedMax}`)).toBe(seedMax);
    expect(parseSeed("")).toBe(defaultSeed);
    expect(parseSeed("?seed=")).toBe(defaultSeed);
  });

  test.each(["-1", "1.5", "1e3", "abc", " 7", `${seedMax + 1}`, "99999999999"])(
    "rejects %j with one line",
    (text) => {
      expect(() => parseSeed(`?seed=${encodeURIComponent(text)}`)).toThrow(
        new RangeError(
          `Expected \`seed\` to be an integer from 0 to ${seedMax}, got ${JSON.stringify(text)}`,
        ),
      );
    },
  );
});

test("traceText rounds times to whole nanoseconds and keeps everything else", () => {
  const text = traceText([
    [4359.292072017052, "send", "n3", "n4", "read"],
    [4359.292072017053, "send", "n3", "n4", "read"],
    [1.0000004, "drop", "n1", "n2", "write"],
  ]);
  expect(JSON.parse(text)).toEqual([
    [4359.292072, "send", "n3", "n4", "read"],
    [4359.292072, "send", "n3", "n4", "read"],
    [1, "drop", "n1", "n2", "write"],
  ]);
});

test("a demo run: 5 nodes, one partition from 10 s to 20 s, a set verdict, stable hashes", () => {
  const first = runDemo(42);
  expect(first.partition).toMatchObject({ startMs: 10_000, stopMs: 20_000 });
  expect(first.partition!.cut.length).toBeGreaterThan(0);
  expect(first.ok + first.fail + first.info).toBe(first.operationCount);
  expect(first.messages.delivered).toBeGreaterThan(0);
  expect(first.checkers).toHaveProperty("set");
  expect(runDemo(42)).toEqual(first);
});
