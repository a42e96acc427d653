// Tests of the set checker (lesson 6): lost, unexpected, recovered and stale, each on its own
// history, plus a property: a sequential history of a real set is always valid.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildHistory } from "./history-view.ts";
import type { HistoryStep } from "./history-view.ts";
import { checkSet } from "./set.ts";

const add = (process: number, element: number, outcome: "ok" | "fail" | "info"): HistoryStep[] => [
  [process, "invoke", "add", element],
  [process, outcome, "add", element],
];
const read = (process: number, elements: number[]): HistoryStep[] => [
  [process, "invoke", "read", null],
  [process, "ok", "read", elements],
];

describe("checkSet", () => {
  it("passes when every acknowledged add is in the final read", () => {
    const result = checkSet(
      buildHistory([...add(0, 1, "ok"), ...add(1, 2, "ok"), ...read(2, [1, 2])]),
    );
    expect(result.valid).toBe(true);
    expect(result).toMatchObject({
      okCount: 2,
      attemptedCount: 2,
      acknowledgedCount: 2,
      lostCount: 0,
    });
    expect(result.ok).toEqual([1, 2]);
  });

  it("classifies the worked example of the doc comment", () => {
    const history = buildHistory([
      ...add(0, 1, "ok"),
      ...add(0, 2, "ok"),
      ...add(1, 3, "info"),
      ...read(2, [1, 3, 9]),
    ]);
    const result = checkSet(history);
    expect(result.valid).toBe(false);
    expect([result.ok, result.lost, result.recovered, result.unexpected]).toEqual([
      [1],
      [2],
      [3],
      [9],
    ]);
  });

  it("finds a lost write", () => {
    const result = checkSet(
      buildHistory([...add(0, 1, "ok"), ...add(0, 2, "ok"), ...read(1, [1])]),
    );
    expect(result.valid).toBe(false);
    expect(result.lost).toEqual([2]);
    expect(result.lostCount).toBe(1);
  });

  it("counts an info add that appears later as recovered, not lost", () => {
    const result = checkSet(buildHistory([...add(0, 1, "info"), ...read(1, [1])]));
    expect(result.valid).toBe(true);
    expect(result.recovered).toEqual([1]);
    expect(result.lostCount).toBe(0);
  });

  it("does not blame an info add that never appears", () => {
    const result = checkSet(buildHistory([...add(0, 1, "info"), ...read(1, [])]));
    expect(result.valid).toBe(true);
    expect(result.recoveredCount).toBe(0);
  });

  it("reports a failed add that appears as unexpected and failed-but-present", () => {
    const result = checkSet(buildHistory([...add(0, 1, "fail"), ...read(1, [1])]));
    expect(result.valid).toBe(false);
    expect(result.unexpected).toEqual([1]);
    expect(result.failedButPresent).toEqual([1]);
  });

  it("reports an element that was never attempted as unexpected", () => {
    const result = checkSet(buildHistory([...add(0, 1, "ok"), ...read(1, [1, 99])]));
    expect(result.valid).toBe(false);
    expect(result.unexpected).toEqual([99]);
    expect(result.failedButPresentCount).toBe(0);
  });

  it("reports stale intermediate reads, and fails on them only with allowStale false", () => {
    const history = buildHistory([...add(0, 1, "ok"), ...read(1, []), ...read(1, [1])]);
    const lenient = checkSet(history);
    expect(lenient.valid).toBe(true);
    expect(lenient.staleReadCount).toBe(1);
    expect(lenient.staleReads[0]).toMatchObject({ invokeIndex: 2, process: 1, missing: [1] });
    expect(checkSet(history, { allowStale: false }).valid).toBe(false);
  });

  it("does not call a read stale for missing a concurrent add", () => {
    const history = buildHistory([
      [0, "invoke", "add", 1],
      [1, "invoke", "read", null],
      [0, "ok", "add", 1],
      [1, "ok", "read", []],
      ...read(1, [1]),
    ]);
    expect(checkSet(history, { allowStale: false })).toMatchObject({
      valid: true,
      staleReadCount: 0,
    });
  });

  it("does not call an add lost when it was acknowledged after the final read began", () => {
    const history = buildHistory([
      [1, "invoke", "read", null],
      ...add(0, 1, "ok"),
      [1, "ok", "read", []],
    ]);
    const result = checkSet(history);
    expect(result.valid).toBe(true);
    expect(result.neverRead).toEqual([1]);
  });

  it("takes the read that completed last as the final read", () => {
    const history = buildHistory([
      [1, "invoke", "read", null],
      ...add(0, 1, "ok"),
      ...read(2, [1]),
      [1, "ok", "read", []],
    ]);
    const result = checkSet(history);
    expect(result.finalReadIndex).toBe(0);
    expect(result.neverRead).toEqual([1]);
  });

  it("answers unknown without an ok read", () => {
    const history = buildHistory([
      ...add(0, 1, "ok"),
      [1, "invoke", "read", null],
      [1, "fail", "read", null],
    ]);
    expect(checkSet(history).valid).toBe("unknown");
  });

  it("gives at most 20 examples but full counts", () => {
    const steps = Array.from({ length: 30 }, (_, element) => add(0, element, "ok")).flat();
    const result = checkSet(buildHistory([...steps, ...read(1, [])]));
    expect(result.lostCount).toBe(30);
    expect(result.lost).toHaveLength(20);
  });

  it("refuses a read that does not return an array of integers", () => {
    const history = buildHistory([
      [0, "invoke", "read", null],
      [0, "ok", "read", "1,2"],
    ]);
    expect(() => checkSet(history)).toThrow(/array of integers/);
  });

  it("is valid on any sequential history of a real set, and invalid once an element is dropped", () => {
    const action = fc.oneof(
      fc.record({
        kind: fc.constant("add" as const),
        outcome: fc.constantFrom("ok", "fail", "info"),
      }),
      fc.record({ kind: fc.constant("read" as const), process: fc.integer({ min: 0, max: 3 }) }),
    );
    fc.assert(
      fc.property(fc.array(action, { maxLength: 40 }), fc.boolean(), (actions, infoApplies) => {
        const real = new Set<number>();
        const steps: HistoryStep[] = [];
        let next = 0;
        for (const [position, step] of actions.entries()) {
          if (step.kind === "add") {
            const element = next++;
            // A failed add never reaches the set; an info add may or may not.
            if (step.outcome === "ok" || (step.outcome === "info" && infoApplies))
              real.add(element);
            // Each indeterminate add gets a fresh process: a timed-out client is never reused.
            steps.push(
              ...add(step.outcome === "info" ? 100 + position : 10, element, step.outcome),
            );
          } else {
            steps.push(...read(step.process, [...real]));
          }
        }
        steps.push(...read(0, [...real]));
        const history = buildHistory(steps);
        const result = checkSet(history, { allowStale: false });
        expect(result.valid).toBe(true);
        const acknowledged = actions.some((step) => step.kind === "add" && step.outcome === "ok");
        if (acknowledged) {
          const last = history[history.length - 1]!;
          const kept = (last.value as number[]).slice();
          const first = actions.findIndex((step) => step.kind === "add" && step.outcome === "ok");
          last.value = kept.filter((element) => element !== countAddsBefore(actions, first));
          expect(checkSet(history).valid).toBe(false);
        }
      }),
    );
  });
});

function countAddsBefore(actions: readonly { kind: string }[], position: number): number {
  return actions.slice(0, position).filter((step) => step.kind === "add").length;
}
