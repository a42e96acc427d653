// Tests of the availability and latency checker (lesson 10): fractions, percentiles split by
// fault windows, the per-second series, and the minimumAvailability verdict.

import { describe, expect, it } from "vitest";
import type { Operation } from "../harness/history.ts";
import { checkAvailability } from "./availability.ts";

const millisecondNs = 1_000_000;
const secondNs = 1_000_000_000;

/** Builds a history from operations given as (process, f, outcome, invoke ms, latency ms). */
function timedHistory(
  operations: readonly [number, string, "ok" | "fail" | "info" | "open", number, number][],
  nemesis: readonly [string, number][] = [],
): Operation[] {
  const records: Omit<Operation, "index">[] = [];
  for (const [process, f, outcome, invokeMs, latencyMs] of operations) {
    records.push({ time: invokeMs * millisecondNs, process, type: "invoke", f, value: null });
    if (outcome !== "open") {
      records.push({
        time: (invokeMs + latencyMs) * millisecondNs,
        process,
        type: outcome,
        f,
        value: null,
      });
    }
  }
  for (const [f, timeMs] of nemesis) {
    records.push({
      time: timeMs * millisecondNs,
      process: "nemesis",
      type: "info",
      f,
      value: null,
    });
  }
  // Stable sort: an invoke and its completion never swap.
  records.sort((a, b) => a.time - b.time);
  return records.map((record, index) => ({ ...record, index }));
}

describe("checkAvailability", () => {
  it("counts outcomes and measures only when no minimum is given", () => {
    const history = timedHistory([
      [0, "read", "ok", 0, 10],
      [1, "read", "ok", 5, 20],
      [2, "write", "fail", 6, 30],
      [3, "write", "info", 7, 40],
      [4, "write", "open", 8, 0],
    ]);
    const result = checkAvailability(history);
    expect(result).toMatchObject({
      valid: true,
      operationCount: 5,
      okCount: 2,
      failCount: 1,
      infoCount: 2,
    });
    expect(result.okFraction).toBeCloseTo(0.4);
  });

  it("judges against minimumAvailability", () => {
    const history = timedHistory([
      [0, "read", "ok", 0, 10],
      [0, "read", "fail", 20, 10],
    ]);
    expect(checkAvailability(history, { minimumAvailability: 0.5 }).valid).toBe(true);
    const below = checkAvailability(history, { minimumAvailability: 0.9 });
    expect(below.valid).toBe(false);
    expect(below.reason).toMatch(/below the minimum/);
    expect(checkAvailability([], { minimumAvailability: 0.9 }).valid).toBe("unknown");
    expect(() => checkAvailability(history, { minimumAvailability: 2 })).toThrow(/from 0 to 1/);
  });

  it("computes latency percentiles per function, split by fault windows from the nemesis", () => {
    const operations: [number, string, "ok", number, number][] = [];
    for (let count = 0; count < 100; count += 1)
      operations.push([count, "read", "ok", count * 10, count + 1]);
    operations.push([100, "read", "ok", 2_000, 500]);
    const history = timedHistory(operations, [
      ["start-partition", 1_900],
      ["stop-partition", 3_000],
    ]);
    const result = checkAvailability(history);
    const reads = result.latency.find((entry) => entry.f === "read")!;
    expect(reads.noFault.count).toBe(100);
    expect(reads.noFault.p50Ns).toBe(50 * millisecondNs);
    expect(reads.noFault.p99Ns).toBe(99 * millisecondNs);
    expect(reads.noFault.p999Ns).toBe(100 * millisecondNs);
    expect(reads.duringFault).toMatchObject({ count: 1, p50Ns: 500 * millisecondNs });
    expect(reads.all.maxNs).toBe(500 * millisecondNs);
    expect(result.faultWindows).toHaveLength(1);
    expect(result.okFractionDuringFault).toBe(1);
  });

  it("splits by given fault windows and reports availability inside and outside them", () => {
    const history = timedHistory([
      [0, "read", "ok", 0, 10],
      [0, "read", "fail", 1_000, 10],
      [0, "read", "ok", 3_000, 10],
    ]);
    const windows = [
      {
        name: "kill",
        label: "kill n1",
        startNs: 900 * millisecondNs,
        endNs: 2_000 * millisecondNs,
        startIndex: 0,
      },
    ];
    const result = checkAvailability(history, { faultWindows: windows });
    expect(result.okFractionDuringFault).toBe(0);
    expect(result.okFractionNoFault).toBe(1);
  });

  it("gives a per-second series of outcomes and latency percentiles", () => {
    const history = timedHistory([
      [0, "read", "ok", 100, 10],
      [1, "read", "fail", 200, 10],
      [0, "read", "ok", 2_100, 30],
      [0, "read", "info", 2_500, 30],
    ]);
    const result = checkAvailability(history);
    expect(result.bucketNs).toBe(secondNs);
    expect(result.buckets.map((bucket) => [bucket.ok, bucket.fail, bucket.info])).toEqual([
      [1, 1, 0],
      [0, 0, 0],
      [1, 0, 1],
    ]);
    expect(result.buckets[0]!.okFraction).toBe(0.5);
    expect(result.buckets[1]!.okFraction).toBeUndefined();
    expect(result.buckets[2]!.latencyP50Ns).toBe(30 * millisecondNs);
  });

  it("widens buckets to keep the series bounded", () => {
    const history = timedHistory([[0, "read", "ok", 100_000_000, 10]]);
    const result = checkAvailability(history);
    expect(result.buckets.length).toBeLessThanOrEqual(10_000);
    expect(result.bucketNs).toBeGreaterThan(secondNs);
    expect(result.buckets.reduce((sum, bucket) => sum + bucket.ok, 0)).toBe(1);
  });
});
