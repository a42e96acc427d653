// Tests of the history views (lesson 1): pairing invokes with completions, fault windows,
// canonical JSON and percentiles.

import { describe, expect, it } from "vitest";
import {
  buildHistory,
  canonicalJson,
  describeValue,
  faultWindows,
  overlapsFault,
  pairOperations,
  percentile,
} from "./history-view.ts";

describe("pairOperations", () => {
  it("pairs each invoke with its completion and leaves a missing one open as info", () => {
    const history = buildHistory([
      [0, "invoke", "add", 1],
      [1, "invoke", "add", 2],
      ["nemesis", "invoke", "kill", "n1"],
      [0, "ok", "add", 1],
      [1, "fail", "add", 2],
      [0, "invoke", "read", null],
    ]);
    const pairs = pairOperations(history);
    expect(pairs.map((pair) => [pair.process, pair.f, pair.outcome])).toEqual([
      [0, "add", "ok"],
      [1, "add", "fail"],
      [0, "read", "info"],
    ]);
    expect(pairs[0]!.invokePosition).toBe(0);
    expect(pairs[0]!.completionPosition).toBe(3);
    expect(pairs[2]!.completionPosition).toBe(Infinity);
    expect(pairs[2]!.completionTimeNs).toBe(Infinity);
  });

  it("refuses a process with two outstanding invokes", () => {
    const history = buildHistory([
      [0, "invoke", "add", 1],
      [0, "invoke", "add", 2],
    ]);
    expect(() => pairOperations(history)).toThrow(/process 0 to be sequential/);
  });

  it("refuses a completion without an invoke and a completion of another function", () => {
    expect(() => pairOperations(buildHistory([[3, "ok", "add", 1]]))).toThrow(/invoke before/);
    const mismatched = buildHistory([
      [0, "invoke", "add", 1],
      [0, "ok", "read", []],
    ]);
    expect(() => pairOperations(mismatched)).toThrow(/f "add"/);
  });

  it("refuses times that go backwards", () => {
    const history = buildHistory([
      [0, "invoke", "add", 1],
      [0, "ok", "add", 1],
    ]);
    history[1]!.time = -5;
    expect(() => pairOperations(history)).toThrow(/time in ns/);
    history[1]!.time = 0;
    history[0]!.time = 10;
    expect(() => pairOperations(history)).toThrow(/never decrease/);
  });
});

describe("faultWindows", () => {
  it("spans a Jepsen nemesis pair from the start invoke to the stop completion", () => {
    const history = buildHistory([
      ["nemesis", "invoke", "start-partition", { n1: ["n2"] }],
      ["nemesis", "info", "start-partition", "partitioned"],
      [0, "invoke", "read"],
      [0, "ok", "read", []],
      ["nemesis", "invoke", "stop-partition"],
      ["nemesis", "info", "stop-partition", "healed"],
    ]);
    const windows = faultWindows(history);
    expect(windows).toHaveLength(1);
    expect(windows[0]).toMatchObject({ name: "partition", startNs: 0, endNs: 5_000_000 });
    expect(windows[0]!.label).toBe('partition {"n1":["n2"]}');
  });

  it("ends a kill at the restart of the same node, and keeps an unfinished fault open to the end", () => {
    const history = buildHistory([
      ["nemesis", "info", "kill", "n1"],
      ["nemesis", "info", "kill", "n2"],
      ["nemesis", "info", "restart", "n2"],
      [0, "invoke", "read"],
      [0, "ok", "read", []],
    ]);
    const windows = faultWindows(history);
    expect(windows.map((window) => [window.label, window.startNs, window.endNs])).toEqual([
      ['kill "n1"', 0, 4_000_000],
      ['kill "n2"', 1_000_000, 2_000_000],
    ]);
    expect(windows[0]!.endIndex).toBeUndefined();
    expect(overlapsFault(windows, 3_000_000, 3_500_000)).toBe(true);
    expect(overlapsFault(windows.slice(1), 3_000_000, 3_500_000)).toBe(false);
  });
});

describe("canonicalJson, describeValue and percentile", () => {
  it("sorts object keys at every depth", () => {
    expect(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] })).toBe('{"a":[2,{"c":4,"d":3}],"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(canonicalJson(undefined)).toBe("null");
  });

  it("cuts long values", () => {
    const text = describeValue("x".repeat(500));
    expect(text.length).toBe(120);
    expect(text.endsWith("…")).toBe(true);
  });

  it("takes the nearest rank", () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.99)).toBe(4);
    expect(percentile([7], 0)).toBe(7);
    expect(percentile([], 0.5)).toBeUndefined();
    expect(() => percentile([1], 2)).toThrow(/from 0 to 1/);
  });
});
