// The counter checker (lesson 6, sharing data: CRDT counters): is every value read a sum the
// acknowledged and possibly-applied increments can explain? Clients add deltas (negative ones
// too, for a PN-counter) and read the total; each read must lie between bounds computed from the
// history. No Node built-ins: it runs in the browser too.

import type { Operation } from "../harness/history.ts";
import { pairOperations } from "./history-view.ts";
import type { PairedOperation, Validity } from "./history-view.ts";

export interface CounterCheckOptions {
  /** The counter's value before the first add. Default 0. */
  initial?: number;
}

/** A read whose value no set of adds could explain. */
export interface CounterReadError {
  invokeIndex: number;
  completionIndex: number;
  process: number;
  value: number;
  lowerBound: number;
  upperBound: number;
}

export interface CounterCheckResult {
  valid: Validity;
  reason: string;
  addCount: number;
  readCount: number;
  errorCount: number;
  /** Out-of-bounds reads in history order (the first 1000). */
  errors: CounterReadError[];
}

const errorsMax = 1000;

/**
 * Checks that every ok read of a counter lies within the bounds the history allows.
 *
 * For a read R, each add with delta d is one of:
 * - certain:  it completed ok before R was invoked. R must include it.
 * - possible: it was invoked before R completed, did not fail, and is not certain (concurrent
 *             with R, or info, or never completed). R may or may not include it.
 * - excluded: it failed (`fail` did not happen), or it was invoked after R completed.
 * The smallest value R can legally see takes every certain add plus every possible negative
 * delta; the largest takes every certain add plus every possible positive delta:
 *   lower = initial + sum(certain) + sum(possible, d < 0)
 *   upper = initial + sum(certain) + sum(possible, d > 0)
 *
 * Worked example: process 0 adds 5 (ok), then adds -2 (info: timed out). Process 1 invokes
 * add 3; while it is in flight process 2 reads 4; then add 3 completes ok. For the read, 5 is
 * certain, -2 and 3 are possible: bounds [5 - 2, 5 + 3] = [3, 8], and 4 passes (bounds only,
 * as in Jepsen: 4 is no subset sum, but checking subset sums is exponential). A read of 2 or 9
 * would be reported with its bounds.
 */
export function checkCounter(
  history: readonly Operation[],
  options: CounterCheckOptions = {},
): CounterCheckResult {
  const initial = options.initial ?? 0;
  if (!Number.isSafeInteger(initial)) {
    throw new Error(`Expected \`initial\` to be an integer, got ${String(initial)}`);
  }
  const pairs = pairOperations(history);
  const adds = pairs.filter((pair) => pair.f === "add" && pair.outcome !== "fail");
  const reads = pairs.filter((pair) => pair.f === "read" && pair.outcome === "ok");
  for (const pair of pairs) if (pair.f === "add") deltaOf(pair);
  const result: CounterCheckResult = {
    valid: "unknown",
    reason: "",
    addCount: pairs.filter((pair) => pair.f === "add").length,
    readCount: reads.length,
    errorCount: 0,
    errors: [],
  };
  const bounds = readBounds(adds, reads, initial, history.length);
  for (const [position, read] of reads.entries()) {
    const value = read.completion!.value;
    if (!Number.isSafeInteger(value)) {
      throw new Error(
        `Expected ok read ${read.completion!.index} to return an integer, got ${JSON.stringify(value)}`,
      );
    }
    const { lowerBound, upperBound } = bounds[position]!;
    if ((value as number) >= lowerBound && (value as number) <= upperBound) continue;
    result.errorCount += 1;
    if (result.errors.length < errorsMax) {
      result.errors.push({
        invokeIndex: read.invoke.index,
        completionIndex: read.completion!.index,
        process: read.process,
        value: value as number,
        lowerBound,
        upperBound,
      });
    }
  }
  if (reads.length === 0) result.reason = "No read completed ok: there is nothing to check.";
  else {
    result.valid = result.errorCount === 0;
    result.reason = result.valid
      ? `All ${reads.length} read(s) lie within the bounds the adds allow.`
      : `${result.errorCount} of ${reads.length} read(s) lie outside the bounds the adds allow.`;
  }
  return result;
}

function deltaOf(pair: PairedOperation): number {
  const delta = pair.invoke.value;
  if (!Number.isSafeInteger(delta)) {
    throw new Error(
      `Expected add ${pair.invoke.index} to carry an integer delta, got ${JSON.stringify(delta)}`,
    );
  }
  return delta as number;
}

/**
 * The bounds of every read from prefix sums over history positions, so a long history costs O(n)
 * rather than O(reads x adds): `before.certainPositive[p]` is the sum of positive deltas of ok adds
 * that completed before position p, `before.possiblePositive[p]` the sum of positive deltas of
 * unfailed adds invoked before p, and likewise for negative deltas. Certain sums are taken at a
 * read's invoke, possible sums at its completion.
 */
function readBounds(
  adds: readonly PairedOperation[],
  reads: readonly PairedOperation[],
  initial: number,
  historyLength: number,
): { lowerBound: number; upperBound: number }[] {
  const before = {
    certainPositive: new Float64Array(historyLength + 1),
    certainNegative: new Float64Array(historyLength + 1),
    possiblePositive: new Float64Array(historyLength + 1),
    possibleNegative: new Float64Array(historyLength + 1),
  };
  // First the delta landing at each position (stored one past it), then running sums.
  for (const add of adds) {
    const delta = deltaOf(add);
    const sign = delta > 0 ? "Positive" : "Negative";
    before[`possible${sign}`][add.invokePosition + 1]! += delta;
    if (add.outcome === "ok") before[`certain${sign}`][add.completionPosition + 1]! += delta;
  }
  for (const sums of Object.values(before)) {
    for (let position = 1; position <= historyLength; position += 1) {
      sums[position]! += sums[position - 1]!;
    }
  }
  return reads.map((read) => {
    const lowerBound =
      initial +
      before.certainPositive[read.invokePosition]! +
      before.possibleNegative[read.completionPosition]!;
    const upperBound =
      initial +
      before.certainNegative[read.invokePosition]! +
      before.possiblePositive[read.completionPosition]!;
    if (!Number.isSafeInteger(lowerBound) || !Number.isSafeInteger(upperBound)) {
      throw new Error("Expected the counter's bounds to stay within safe integers");
    }
    // Certain adds are a subset of possible adds, so the bounds can never cross.
    if (lowerBound > upperBound) throw new Error("Counter bounds crossed: a checker bug");
    return { lowerBound, upperBound };
  });
}
