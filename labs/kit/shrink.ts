// Shrinking a failing history (every lab's verdict): a checker that fails on 1,500 operations is
// right, and useless to a learner. The smallest history that still fails is the one to read.
// This is delta debugging (Zeller's ddmin, simplified): try to drop a chunk of operations; if
// the checker still fails without it, keep it dropped; when no chunk of this size can go,
// halve the size. Operations go in whole units: a client operation's invoke and completion
// together (a completion without its invoke is not a history), a fault alone.
//
//   20 operations, fails   -> drop the first 10: still fails -> drop 5 of the last 10: passes
//   -> ... -> 3 operations: add 17 (ok), a partition, a read without 17
//
// Bounded: at most `stepsMax` checker calls and `timeMs` of wall time, because a checker call
// may cost a linearizability search. What it returns always fails; it may not be the smallest.
// No Node built-ins: this runs in the browser too.

import type { Operation } from "../../chaos/harness/history.ts";

export interface ShrinkOptions {
  /** At most this many calls of `fails`. Default 300. */
  stepsMax?: number;
  /** Stop after this much wall time (milliseconds). Default 3000. */
  timeMs?: number;
  /** Wall clock in milliseconds (tests pass a fake one). */
  now?: () => number;
}

export interface ShrinkResult<Item> {
  items: Item[];
  steps: number;
  /** True when it stopped on a bound rather than at a list no chunk could leave. */
  bounded: boolean;
}

export const shrinkStepsDefault = 300;
export const shrinkTimeMsDefault = 3_000;

/** The smallest sub-list (order kept) of `items` for which `fails` stays true, within bounds.
 * `fails(items)` must be true to begin with. */
export function shrinkList<Item>(
  items: readonly Item[],
  fails: (items: Item[]) => boolean,
  options: ShrinkOptions = {},
): ShrinkResult<Item> {
  const stepsMax = options.stepsMax ?? shrinkStepsDefault;
  const now = options.now ?? (() => globalThis.performance.now());
  const deadline = now() + (options.timeMs ?? shrinkTimeMsDefault);
  let current = items.slice();
  let steps = 0;
  let chunk = Math.max(1, Math.floor(current.length / 2));
  const outOfBudget = () => steps >= stepsMax || now() >= deadline;
  while (current.length > 1 && !outOfBudget()) {
    let removedAny = false;
    for (let start = 0; start < current.length && !outOfBudget();) {
      const candidate = [...current.slice(0, start), ...current.slice(start + chunk)];
      steps += 1;
      if (candidate.length > 0 && fails(candidate)) {
        current = candidate; // the same start now points at the next chunk
        removedAny = true;
      } else start += chunk;
    }
    if (!removedAny) {
      if (chunk === 1) return { items: current, steps, bounded: false };
      chunk = Math.max(1, Math.floor(chunk / 2));
    } else chunk = Math.min(chunk, Math.max(1, Math.floor(current.length / 2)));
  }
  return { items: current, steps, bounded: current.length > 1 };
}

/** A history split into units that go together: a client operation's invoke with its
 * completion, or one nemesis operation. */
export function historyUnits(history: readonly Operation[]): Operation[][] {
  const units: Operation[][] = [];
  const open = new Map<number, Operation[]>();
  for (const operation of history) {
    if (operation.process === "nemesis") {
      units.push([operation]);
      continue;
    }
    const pending = open.get(operation.process);
    if (operation.type === "invoke" || pending === undefined) {
      const unit = [operation];
      units.push(unit);
      if (operation.type === "invoke") open.set(operation.process, unit);
      continue;
    }
    pending.push(operation);
    open.delete(operation.process);
  }
  return units;
}

/** The shrunk history, in the original order, each operation keeping its original `index`
 * (so the learner can find it in the full history and the report). */
export function shrinkHistory(
  history: readonly Operation[],
  fails: (history: Operation[]) => boolean,
  options: ShrinkOptions = {},
): ShrinkResult<Operation> {
  const flatten = (units: Operation[][]) =>
    units.flat().sort((left, right) => left.index - right.index);
  const result = shrinkList(historyUnits(history), (units) => fails(flatten(units)), options);
  return { items: flatten(result.items), steps: result.steps, bounded: result.bounded };
}
