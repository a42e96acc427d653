// The linearizability checker's failure modes, one small history each (lesson 6, sharing
// data), plus a cross-check against brute force on random small histories.

import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseHistory } from "../harness/history-io.ts";
import type { Operation, OperationType } from "../harness/history.ts";
import { pairOperations } from "../harness/history.ts";
import { checkLinearizable } from "./linearizable.ts";
import {
  casRegisterModel,
  jepsenCasRegisterModel,
  keyedRegisterModel,
  kvModel,
  linearizableModelFor,
} from "./models.ts";
import type { AnyModel } from "./models.ts";

type Row = [process: number, type: OperationType, f: string, value: unknown, key?: string];

/** Builds a history from rows in real-time order; index and time are the row number. */
function history(rows: Row[]): Operation[] {
  return rows.map(([process, type, f, value, key], index) => {
    const operation: Operation = { index, time: index, process, type, f, value };
    if (key !== undefined) operation.key = key;
    return operation;
  });
}

describe("linearizable: register failure modes", () => {
  it("finds a stale read and names it, after the write it missed", () => {
    const result = checkLinearizable(
      keyedRegisterModel,
      history([
        [0, "invoke", "write", 1],
        [0, "ok", "write", 1],
        [1, "invoke", "read", null],
        [1, "ok", "read", null],
      ]),
    );
    expect(result.valid).toBe(false);
    expect(result.counterExample?.failedOperation.index).toBe(2);
    expect(result.counterExample?.longestLinearizablePrefix).toEqual([0]);
    expect(result.counterExample?.stateAfterPrefix).toBe("1");
  });

  it("finds a lost write: a later read sees the value it overwrote", () => {
    const result = checkLinearizable(
      keyedRegisterModel,
      history([
        [0, "invoke", "write", 1],
        [0, "ok", "write", 1],
        [1, "invoke", "write", 2],
        [1, "ok", "write", 2],
        [2, "invoke", "read", null],
        [2, "ok", "read", 1],
      ]),
    );
    expect(result.valid).toBe(false);
    expect(result.counterExample?.failedOperation.index).toBe(4);
    expect(result.counterExample?.longestLinearizablePrefix).toEqual([0, 2]);
  });

  it("rejects a read of a write that failed (a fail did not happen)", () => {
    const result = checkLinearizable(
      keyedRegisterModel,
      history([
        [0, "invoke", "write", 5],
        [0, "fail", "write", 5],
        [1, "invoke", "read", null],
        [1, "ok", "read", 5],
      ]),
    );
    expect(result.valid).toBe(false);
    expect(result.counterExample?.failedOperation.description).toBe("read() -> 5");
  });

  it("accepts an indeterminate (info) write that appears later", () => {
    const result = checkLinearizable(
      keyedRegisterModel,
      history([
        [0, "invoke", "write", 5],
        [0, "info", "write", 5],
        [1, "invoke", "read", null],
        [1, "ok", "read", null],
        [1, "invoke", "read", null],
        [1, "ok", "read", 5],
      ]),
    );
    expect(result.valid).toBe(true);
  });

  it("accepts an info write that never appears", () => {
    const result = checkLinearizable(
      keyedRegisterModel,
      history([
        [0, "invoke", "write", 5],
        [0, "info", "write", 5],
        [1, "invoke", "read", null],
        [1, "ok", "read", null],
        [2, "invoke", "write", 6],
        [2, "ok", "write", 6],
        [1, "invoke", "read", null],
        [1, "ok", "read", 6],
      ]),
    );
    expect(result.valid).toBe(true);
  });

  it("treats an invoke without completion like info, and lets an info'd process invoke again", () => {
    const rows: Row[] = [
      [0, "invoke", "write", 7],
      [0, "info", "write", 7],
      [0, "invoke", "write", 8],
      [1, "invoke", "read", null],
      [1, "ok", "read", 7],
    ];
    expect(checkLinearizable(keyedRegisterModel, history(rows)).valid).toBe(true);
    // ... but an info write cannot take effect before it was invoked.
    const early: Row[] = [
      [1, "invoke", "read", null],
      [1, "ok", "read", 7],
      [0, "invoke", "write", 7],
      [0, "info", "write", 7],
    ];
    expect(checkLinearizable(keyedRegisterModel, history(early)).valid).toBe(false);
  });

  it("accepts either value for a read concurrent with a write", () => {
    for (const seen of [null, 3]) {
      const rows: Row[] = [
        [0, "invoke", "write", 3],
        [1, "invoke", "read", null],
        [1, "ok", "read", seen],
        [0, "ok", "write", 3],
      ];
      expect(checkLinearizable(keyedRegisterModel, history(rows)).valid).toBe(true);
    }
  });

  it("checks each key on its own and reports the key that fails", () => {
    const result = checkLinearizable(
      keyedRegisterModel,
      history([
        [0, "invoke", "write", 1, "a"],
        [0, "ok", "write", 1, "a"],
        [1, "invoke", "read", null, "b"],
        [1, "ok", "read", 1, "b"],
        [2, "invoke", "read", null, "a"],
        [2, "ok", "read", 1, "a"],
      ]),
    );
    expect(result.valid).toBe(false);
    expect(result.partitions.map((partition) => partition.key).sort()).toEqual(["a", "b"]);
    expect(result.counterExample?.key).toBe("b");
  });

  it("drops a failed cas under register, but reads a failed cas as 'compared unequal' under cas-register", () => {
    // The register holds 1; a cas from 1 that failed is impossible only if a fail is an observation.
    const rows: Row[] = [
      [0, "invoke", "write", 1],
      [0, "ok", "write", 1],
      [1, "invoke", "cas", [1, 2]],
      [1, "fail", "cas", [1, 2]],
    ];
    expect(checkLinearizable(keyedRegisterModel, history(rows)).valid).toBe(true);
    expect(checkLinearizable(casRegisterModel, history(rows)).valid).toBe(false);
  });

  it("needs the register to be nil for a read of nil under cas-register (Porcupine, not Knossos)", () => {
    const rows: Row[] = [
      [0, "invoke", "write", 4],
      [0, "ok", "write", 4],
      [1, "invoke", "read", null],
      [1, "ok", "read", null],
    ];
    expect(checkLinearizable(casRegisterModel, history(rows)).valid).toBe(false);
  });

  it("reads cas-register by Jepsen's rules under the jepsen convention (Knossos)", () => {
    expect(linearizableModelFor("cas-register", "jepsen")).toBe(jepsenCasRegisterModel);
    expect(linearizableModelFor("cas-register", "porcupine")).toBe(casRegisterModel);
    expect(linearizableModelFor("register", "jepsen")).toBe(keyedRegisterModel);
    expect(linearizableModelFor("queue", "jepsen")).toBeUndefined();
    // A failed cas did not happen, and an ok read of nil tells nothing...
    const rows: Row[] = [
      [0, "invoke", "write", 1],
      [0, "ok", "write", 1],
      [1, "invoke", "cas", [1, 2]],
      [1, "fail", "cas", [1, 2]],
      [2, "invoke", "read", null],
      [2, "ok", "read", null],
      [2, "invoke", "read", null],
      [2, "ok", "read", 1],
    ];
    expect(checkLinearizable(jepsenCasRegisterModel, history(rows)).valid).toBe(true);
    // ...but a read of a value is still checked, and so is an ok cas.
    const stale: Row[] = [...rows, [3, "invoke", "read", null], [3, "ok", "read", 2]];
    expect(checkLinearizable(jepsenCasRegisterModel, history(stale)).valid).toBe(false);
    const badCas: Row[] = [...rows, [3, "invoke", "cas", [2, 3]], [3, "ok", "cas", [2, 3]]];
    expect(checkLinearizable(jepsenCasRegisterModel, history(badCas)).valid).toBe(false);
  });

  it("lets an info cas take effect long after its invoke under the jepsen convention", () => {
    // p1's cas timed out; p0 wrote 1 after it and p2 later reads 2: the cas happened late.
    const rows: Row[] = [
      [1, "invoke", "cas", [1, 2]],
      [1, "info", "cas", [1, 2]],
      [0, "invoke", "write", 1],
      [0, "ok", "write", 1],
      [2, "invoke", "read", null],
      [2, "ok", "read", 1],
      [2, "invoke", "read", null],
      [2, "ok", "read", 2],
    ];
    expect(checkLinearizable(jepsenCasRegisterModel, history(rows)).valid).toBe(true);
    const twice: Row[] = [...rows, [2, "invoke", "read", null], [2, "ok", "read", 1]];
    expect(checkLinearizable(jepsenCasRegisterModel, history(twice)).valid).toBe(false);
  });

  it("accepts an empty history", () => {
    expect(checkLinearizable(keyedRegisterModel, []).valid).toBe(true);
  });
});

describe("linearizable: time limit", () => {
  const hard = parseHistory(
    readFileSync(new URL("./test-data/porcupine/jepsen/etcd_002.log", import.meta.url), "utf8"),
  );

  it("says unknown when the time limit runs out, never a guess", () => {
    let clock = 0;
    const result = checkLinearizable(casRegisterModel, hard.operations, {
      timeoutMs: 3,
      now: () => (clock += 1),
    });
    expect(result.valid).toBe("unknown");
    expect(result.reason).toContain("time limit");
    expect(result.counterExample).toBeUndefined();
  });

  it("gives the real verdict when the limit is generous", () => {
    const result = checkLinearizable(casRegisterModel, hard.operations, { timeoutMs: 120_000 });
    expect(result.valid).toBe(true);
    // A complete linearization covers every checked operation.
    expect(result.operationCount).toBeGreaterThan(0);
  });
});

describe("linearizable: kv model", () => {
  it("follows appends per key", () => {
    const rows: Row[] = [
      [0, "invoke", "put", "a", "k"],
      [0, "ok", "put", null, "k"],
      [1, "invoke", "append", "b", "k"],
      [1, "ok", "append", null, "k"],
      [2, "invoke", "get", null, "k"],
      [2, "ok", "get", "ab", "k"],
    ];
    expect(checkLinearizable(kvModel, history(rows)).valid).toBe(true);
    const wrong = rows.map((row) => [...row] as Row);
    wrong[5]![3] = "ba";
    expect(checkLinearizable(kvModel, history(wrong)).valid).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------
// Cross-check: on small random histories, the search agrees with trying every order.

function bruteForce(model: AnyModel, operations: Operation[]): boolean {
  const calls = pairOperations(operations).flatMap((pair) => {
    const call = model.call(pair.invoke, pair.completion);
    if (call === null) return [];
    const known = pair.completion !== undefined && pair.completion.type !== "info";
    return [
      { ...call, start: pair.invokePosition, end: known ? pair.completionPosition : Infinity },
    ];
  });
  const used = new Array<boolean>(calls.length).fill(false);
  const search = (state: unknown, done: number): boolean => {
    if (done === calls.length) return true;
    for (let candidate = 0; candidate < calls.length; candidate += 1) {
      if (used[candidate]) continue;
      // Every operation that returned before this one was invoked must already be placed.
      const blocked = calls.some(
        (other, index) =>
          !used[index] && index !== candidate && other.end < calls[candidate]!.start,
      );
      if (blocked) continue;
      const [legal, next] = model.step(state, calls[candidate]!.input, calls[candidate]!.output);
      if (!legal) continue;
      used[candidate] = true;
      const found = search(next, done + 1);
      used[candidate] = false;
      if (found) return true;
    }
    return false;
  };
  return search(model.init(), 0);
}

const randomHistory = fc
  .array(
    fc.record({
      process: fc.integer({ min: 0, max: 2 }),
      f: fc.constantFrom("read", "write", "cas"),
      argument: fc.integer({ min: 0, max: 2 }),
      to: fc.integer({ min: 0, max: 2 }),
      result: fc.constantFrom<number | null>(null, 0, 1, 2),
      outcome: fc.constantFrom<OperationType>("ok", "ok", "ok", "fail", "info"),
      completeNow: fc.boolean(),
    }),
    { maxLength: 7 },
  )
  .map((steps) => {
    // Interleave: each step invokes on a free process, and completes open ones along the way.
    const rows: Row[] = [];
    const open = new Map<number, Row>();
    const close = (process: number, outcome: OperationType, result: number | null) => {
      const invoke = open.get(process)!;
      const value = invoke[2] === "read" ? (outcome === "ok" ? result : null) : invoke[3];
      rows.push([process, outcome, invoke[2], value]);
      open.delete(process);
    };
    for (const step of steps) {
      if (open.has(step.process)) close(step.process, step.outcome, step.result);
      const value =
        step.f === "read" ? null : step.f === "write" ? step.argument : [step.argument, step.to];
      const invoke: Row = [step.process, "invoke", step.f, value];
      rows.push(invoke);
      open.set(step.process, invoke);
      if (step.completeNow) close(step.process, step.outcome, step.result);
    }
    for (const process of [...open.keys()]) if (process % 2 === 0) close(process, "ok", 1);
    return history(rows);
  });

describe("linearizable: agrees with brute force", () => {
  it.each([
    ["register", keyedRegisterModel],
    ["cas-register", casRegisterModel],
    ["cas-register (jepsen)", jepsenCasRegisterModel],
  ] as const)("on random small %s histories", (_name, model) => {
    let invalidCount = 0;
    fc.assert(
      fc.property(randomHistory, (operations) => {
        const expected = bruteForce(model, operations);
        if (!expected) invalidCount += 1;
        expect(checkLinearizable(model, operations).valid).toBe(expected);
      }),
      { numRuns: 400, seed: 20240607 },
    );
    // The generator must produce both verdicts, or the comparison proves little.
    expect(invalidCount).toBeGreaterThan(20);
  });
});
