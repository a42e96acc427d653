// Tests of the counter checker (lesson 6): reads inside and outside the bounds the adds allow,
// negative deltas, indeterminate and failed adds, and a property against a brute-force oracle.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkCounter } from "./counter.ts";
import { buildHistory } from "./history-view.ts";
import type { HistoryStep } from "./history-view.ts";

const add = (process: number, delta: number, outcome: "ok" | "fail" | "info"): HistoryStep[] => [
  [process, "invoke", "add", delta],
  [process, outcome, "add", delta],
];
const read = (process: number, value: number): HistoryStep[] => [
  [process, "invoke", "read", null],
  [process, "ok", "read", value],
];

describe("checkCounter", () => {
  it("passes when each read is the sum of the adds before it", () => {
    const history = buildHistory([
      ...add(0, 2, "ok"),
      ...read(1, 2),
      ...add(0, 3, "ok"),
      ...read(1, 5),
    ]);
    expect(checkCounter(history)).toMatchObject({
      valid: true,
      readCount: 2,
      addCount: 2,
      errorCount: 0,
    });
  });

  it("gives the bounds of the worked example of the doc comment", () => {
    const history = (value: number): ReturnType<typeof buildHistory> =>
      buildHistory([
        ...add(0, 5, "ok"),
        ...add(0, -2, "info"),
        [1, "invoke", "add", 3],
        ...read(2, value),
        [1, "ok", "add", 3],
      ]);
    expect(checkCounter(history(4)).valid).toBe(true);
    expect(checkCounter(history(2)).errors[0]).toMatchObject({ lowerBound: 3, upperBound: 8 });
    expect(checkCounter(history(9)).valid).toBe(false);
  });

  it("reports a read below the acknowledged adds, with its bounds", () => {
    const history = buildHistory([...add(0, 2, "ok"), ...add(0, 3, "ok"), ...read(1, 4)]);
    const result = checkCounter(history);
    expect(result.valid).toBe(false);
    expect(result.errors).toEqual([
      { invokeIndex: 4, completionIndex: 5, process: 1, value: 4, lowerBound: 5, upperBound: 5 },
    ]);
  });

  it("never counts a failed add, and may count an info add", () => {
    expect(checkCounter(buildHistory([...add(0, 7, "fail"), ...read(1, 7)])).valid).toBe(false);
    expect(checkCounter(buildHistory([...add(0, 7, "info"), ...read(1, 7)])).valid).toBe(true);
    expect(checkCounter(buildHistory([...add(0, 7, "info"), ...read(1, 0)])).valid).toBe(true);
  });

  it("may count an add concurrent with the read, but not one invoked after it", () => {
    const concurrent = buildHistory([
      [0, "invoke", "add", 4],
      [1, "invoke", "read", null],
      [1, "ok", "read", 4],
      [0, "ok", "add", 4],
    ]);
    expect(checkCounter(concurrent).valid).toBe(true);
    const later = buildHistory([...read(1, 4), ...add(0, 4, "ok")]);
    expect(checkCounter(later).errors[0]).toMatchObject({ lowerBound: 0, upperBound: 0 });
  });

  it("widens the lower bound for possible negative deltas (a PN-counter)", () => {
    const history = buildHistory([...add(0, 10, "ok"), ...add(1, -4, "info"), ...read(2, 6)]);
    const result = checkCounter(history);
    expect(result.valid).toBe(true);
    const tooLow = buildHistory([...add(0, 10, "ok"), ...add(1, -4, "info"), ...read(2, 5)]);
    expect(checkCounter(tooLow).errors[0]).toMatchObject({ lowerBound: 6, upperBound: 10 });
    const certainNegative = buildHistory([
      ...add(0, 10, "ok"),
      ...add(1, -4, "ok"),
      ...read(2, 10),
    ]);
    expect(checkCounter(certainNegative).errors[0]).toMatchObject({ lowerBound: 6, upperBound: 6 });
  });

  it("starts from the initial value and answers unknown without reads", () => {
    expect(checkCounter(buildHistory(read(0, 3)), { initial: 3 }).valid).toBe(true);
    expect(checkCounter(buildHistory(add(0, 1, "ok"))).valid).toBe("unknown");
    expect(() => checkCounter(buildHistory(add(0, 1.5, "ok")))).toThrow(/integer delta/);
  });

  it("agrees with a brute-force oracle on random concurrent histories", () => {
    const step = fc.record({
      process: fc.integer({ min: 0, max: 3 }),
      action: fc.constantFrom("add", "read", "complete"),
      delta: fc.integer({ min: -5, max: 5 }),
      outcome: fc.constantFrom("ok", "ok", "fail", "info"),
      readValue: fc.integer({ min: -20, max: 20 }),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const history = buildHistory(randomHistory(steps));
        const errors = checkCounter(history).errors.map((error) => error.invokeIndex);
        expect(errors).toEqual(oracleErrors(history));
      }),
    );
  });
});

type RandomStep = {
  process: number;
  action: "add" | "read" | "complete";
  delta: number;
  outcome: "ok" | "fail" | "info";
  readValue: number;
};

/** Random interleavings: a step invokes on an idle process or completes its open operation. */
function randomHistory(steps: readonly RandomStep[]): HistoryStep[] {
  const open = new Map<number, HistoryStep>();
  const result: HistoryStep[] = [];
  for (const step of steps) {
    const pending = open.get(step.process);
    if (pending === undefined && step.action !== "complete") {
      const invoke: HistoryStep = [
        step.process,
        "invoke",
        step.action,
        step.action === "add" ? step.delta : null,
      ];
      open.set(step.process, invoke);
      result.push(invoke);
    } else if (pending !== undefined) {
      const f = pending[2];
      const outcome = f === "read" ? "ok" : step.outcome;
      result.push([step.process, outcome, f, f === "read" ? step.readValue : pending[3]]);
      open.delete(step.process);
    }
  }
  return result;
}

/** The bounds by definition, one read at a time: O(reads x adds), obviously right. */
function oracleErrors(history: ReturnType<typeof buildHistory>): number[] {
  const completionOf = (
    invokePosition: number,
  ): { position: number; type: string; value: unknown } | undefined => {
    const process = history[invokePosition]!.process;
    for (let position = invokePosition + 1; position < history.length; position += 1) {
      const operation = history[position]!;
      if (operation.process === process)
        return { position, type: operation.type, value: operation.value };
    }
    return undefined;
  };
  const errors: number[] = [];
  for (const [readPosition, readInvoke] of history.entries()) {
    if (readInvoke.type !== "invoke" || readInvoke.f !== "read") continue;
    const readCompletion = completionOf(readPosition);
    if (readCompletion === undefined || readCompletion.type !== "ok") continue;
    let lower = 0;
    let upper = 0;
    for (const [addPosition, addInvoke] of history.entries()) {
      if (addInvoke.type !== "invoke" || addInvoke.f !== "add") continue;
      const delta = addInvoke.value as number;
      const addCompletion = completionOf(addPosition);
      if (addCompletion?.type === "fail" || addPosition > readCompletion.position) continue;
      const certain = addCompletion?.type === "ok" && addCompletion.position < readPosition;
      if (certain || delta < 0) lower += delta;
      if (certain || delta > 0) upper += delta;
    }
    const value = readCompletion.value as number;
    if (value < lower || value > upper) errors.push(readInvoke.index);
  }
  return errors;
}
