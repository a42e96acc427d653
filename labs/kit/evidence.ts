// Turning a failed chaos run into a check failure (every cluster lab): the run, its history,
// and a predicate that lets the kit shrink the history WITHOUT changing what it shows. Dropping
// operations can make a checker fail for a new, silly reason: drop the write of 200 and a read
// of 200 becomes "a value nobody wrote"; drop an add and its element becomes "unexpected". So
// a smaller history counts only if every value it reads was written in it, and the checker
// still fails with the same kind of evidence.
// No Node built-ins: this runs in the browser too.

import { runChecker, type CheckerName } from "../../chaos/harness/checks.ts";
import type { Operation } from "../../chaos/harness/history.ts";
import type { RunResult } from "../../chaos/harness/run-core.ts";
import type { CheckFailure } from "./lab.ts";

/** Checkers get this long per call while shrinking (the linearizability search can be slow). */
export const shrinkCheckerTimeoutMs = 1_000;

/** A failure of `checker` in `run`, shrinkable by dropping operations. */
export function runFailure(run: RunResult, checker: CheckerName, message: string): CheckFailure {
  const original = run.results[checker];
  const expected = original?.valid;
  return {
    ok: false,
    message,
    run,
    history: run.history,
    stillFails: (history) => {
      if (!readsOnlyWrittenValues(history)) return false;
      const result = runChecker(checker, history, {
        linearizableTimeoutMs: shrinkCheckerTimeoutMs,
      });
      if (result.valid !== expected) return false;
      // The set and cart checkers: the same kind of loss, and nothing unexpected.
      if (typeof original?.lostCount === "number" && original.lostCount > 0)
        return (result.lostCount as number) > 0 && result.unexpectedCount === 0;
      return true;
    },
  };
}

/** Every integer a read returns (alone, in siblings, or in a set) was written or added by an
 * operation still in the history. */
export function readsOnlyWrittenValues(history: readonly Operation[]): boolean {
  const written = new Set<number>();
  for (const operation of history) {
    if (operation.type !== "invoke" || operation.process === "nemesis") continue;
    for (const value of integersIn(operation.value)) written.add(value);
  }
  for (const operation of history) {
    if (operation.type !== "ok" || operation.f !== "read") continue;
    for (const value of integersIn(operation.value)) if (!written.has(value)) return false;
  }
  return true;
}

function integersIn(value: unknown): number[] {
  if (Number.isSafeInteger(value)) return [value as number];
  if (Array.isArray(value)) return value.flatMap(integersIn);
  if (typeof value === "object" && value !== null) return Object.values(value).flatMap(integersIn);
  return [];
}
