// The set checker (lesson 6, sharing data; lesson 3, network splits): did every acknowledged add
// survive the faults? Clients add unique integers to one grow-only set and read it back; the
// final read is compared with what was acknowledged, attempted and refused. This is Jepsen's set
// checker, plus stale intermediate reads. No Node built-ins: it runs in the browser too.

import type { Operation } from "../harness/history.ts";
import { examples, pairOperations } from "./history-view.ts";
import type { PairedOperation, Validity } from "./history-view.ts";

export interface SetCheckOptions {
  /**
   * Whether an intermediate read may miss an element whose add was acknowledged before the read
   * began. Default true: Dynamo is eventually consistent (an R + W <= N quorum, a sloppy quorum
   * during a partition, or a read served before anti-entropy ran may all legally miss a fresh
   * write). Set false to demand read-your-acknowledged-writes from every later read.
   */
  allowStale?: boolean;
}

/** An intermediate read that missed elements acknowledged before it was invoked. */
export interface StaleRead {
  /** History index of the read's invoke. */
  invokeIndex: number;
  completionIndex: number;
  process: number;
  missingCount: number;
  /** Up to 20 of the missing elements. */
  missing: number[];
}

export interface SetCheckResult {
  valid: Validity;
  /** Why the verdict is what it is, in one sentence. */
  reason: string;
  /** History index of the read taken as final (the last ok read), when there is one. */
  finalReadIndex?: number;
  attemptedCount: number;
  acknowledgedCount: number;
  okCount: number;
  lostCount: number;
  unexpectedCount: number;
  failedButPresentCount: number;
  recoveredCount: number;
  /** Acknowledged adds that completed after the final read began and are absent: not judged. */
  neverReadCount: number;
  staleReadCount: number;
  /** Up to 20 elements of each category. */
  ok: number[];
  lost: number[];
  /** Present in a read but never attempted, or only attempted by adds that failed. */
  unexpected: number[];
  /** The part of `unexpected` whose adds all failed: a `fail` that happened after all. */
  failedButPresent: number[];
  recovered: number[];
  neverRead: number[];
  staleReads: StaleRead[];
}

/** An ok read and the elements it returned. */
interface Read {
  pair: PairedOperation;
  elements: readonly number[];
}

/** What the history says about one element's adds. */
interface ElementFate {
  /** The earliest completion position of an ok add of this element, or Infinity. */
  acknowledgedAt: number;
  /** Whether some add may have happened without an acknowledgement (info, or never completed). */
  indeterminate: boolean;
  /** The last read that counted this element: a duplicate within one read counts once. */
  countedByRead: number;
}

/**
 * Checks a grow-only set history: adds of unique integers, then reads.
 *
 * The final read is the last ok read of the history. Against it, every element falls into one
 * category:
 * - ok:         its add was acknowledged and the final read has it;
 * - lost:       its add was acknowledged before the final read began, and the final read lacks it;
 * - unexpected: the final read (or any read) has it, but no add of it was attempted, or every
 *               add of it failed (`fail` promises it did not happen: "failed but present");
 * - recovered:  its add was indeterminate (info, or no completion) and the final read has it:
 *               that is legal, the add happened after all;
 * - neverRead:  acknowledged only after the final read began and absent: not judged.
 * An intermediate read is stale when it lacks an element whose add was acknowledged before that
 * read was invoked. Verdict: invalid if anything is lost or unexpected (or stale, with
 * `allowStale: false`); unknown if there is no ok read at all; valid otherwise.
 *
 * Worked example (process 0 adds 1 and 2, process 1 adds 3 and times out, then reads):
 *   0 invoke add 1, 0 ok add 1, 0 invoke add 2, 0 ok add 2, 1 invoke add 3, 1 info add 3,
 *   2 invoke read, 2 ok read [1, 3, 9]
 * gives ok [1], lost [2], recovered [3], unexpected [9]: invalid.
 */
export function checkSet(
  history: readonly Operation[],
  options: SetCheckOptions = {},
): SetCheckResult {
  const allowStale = options.allowStale ?? true;
  const pairs = pairOperations(history);
  const fates = new Map<number, ElementFate>();
  const reads: Read[] = [];
  for (const pair of pairs) {
    if (pair.f === "add") recordAdd(fates, pair);
    else if (pair.f === "read" && pair.outcome === "ok") {
      reads.push({ pair, elements: readElements(pair) });
    }
  }
  // The final read is the one that completed last (history order is real-time order).
  reads.sort((a, b) => a.pair.completionPosition - b.pair.completionPosition);
  const result = emptyResult(fates);
  const finalRead = reads[reads.length - 1];
  if (finalRead === undefined) {
    result.reason = "No read completed ok, so nothing can be said about what the set holds.";
    return result;
  }
  result.finalReadIndex = finalRead.pair.invoke.index;
  classifyFinalRead(result, fates, finalRead.pair, new Set(finalRead.elements));
  scanReads(result, fates, reads);
  const stale = result.staleReadCount > 0 && !allowStale;
  result.valid = result.lostCount === 0 && result.unexpectedCount === 0 && !stale;
  result.reason = result.valid
    ? "Every acknowledged add is in the final read and every element read was attempted."
    : `${result.lostCount} acknowledged add(s) lost, ${result.unexpectedCount} unexpected element(s)` +
      (stale ? `, ${result.staleReadCount} stale read(s) with allowStale false.` : ".");
  return result;
}

function recordAdd(fates: Map<number, ElementFate>, pair: PairedOperation): void {
  const element = pair.invoke.value;
  if (!Number.isSafeInteger(element)) {
    throw new Error(
      `Expected add ${pair.invoke.index} to add an integer element, got ${JSON.stringify(element)}`,
    );
  }
  const fate = fates.get(element as number) ?? {
    acknowledgedAt: Infinity,
    indeterminate: false,
    countedByRead: -1,
  };
  if (pair.outcome === "ok") {
    fate.acknowledgedAt = Math.min(fate.acknowledgedAt, pair.completionPosition);
  }
  if (pair.outcome === "info") fate.indeterminate = true;
  fates.set(element as number, fate);
}

function readElements(pair: PairedOperation): number[] {
  const value = pair.completion?.value;
  if (!Array.isArray(value) || !value.every((element) => Number.isSafeInteger(element))) {
    throw new Error(
      `Expected ok read ${pair.completion?.index} to return an array of integers, got ${JSON.stringify(value)}`,
    );
  }
  return value as number[];
}

function emptyResult(fates: Map<number, ElementFate>): SetCheckResult {
  let acknowledgedCount = 0;
  for (const fate of fates.values()) if (fate.acknowledgedAt !== Infinity) acknowledgedCount += 1;
  return {
    valid: "unknown",
    reason: "",
    attemptedCount: fates.size,
    acknowledgedCount,
    okCount: 0,
    lostCount: 0,
    unexpectedCount: 0,
    failedButPresentCount: 0,
    recoveredCount: 0,
    neverReadCount: 0,
    staleReadCount: 0,
    ok: [],
    lost: [],
    unexpected: [],
    failedButPresent: [],
    recovered: [],
    neverRead: [],
    staleReads: [],
  };
}

function classifyFinalRead(
  result: SetCheckResult,
  fates: Map<number, ElementFate>,
  finalRead: PairedOperation,
  finalElements: Set<number>,
): void {
  const buckets = { ok: [] as number[], lost: [] as number[], recovered: [] as number[] };
  const neverRead: number[] = [];
  for (const [element, fate] of [...fates].sort((a, b) => a[0] - b[0])) {
    const present = finalElements.has(element);
    if (fate.acknowledgedAt !== Infinity) {
      if (present) buckets.ok.push(element);
      else if (fate.acknowledgedAt < finalRead.invokePosition) buckets.lost.push(element);
      else neverRead.push(element);
    } else if (fate.indeterminate && present) {
      buckets.recovered.push(element);
    }
  }
  result.okCount = buckets.ok.length;
  result.ok = examples(buckets.ok);
  result.lostCount = buckets.lost.length;
  result.lost = examples(buckets.lost);
  result.recoveredCount = buckets.recovered.length;
  result.recovered = examples(buckets.recovered);
  result.neverReadCount = neverRead.length;
  result.neverRead = examples(neverRead);
}

/**
 * One pass over every read's elements. It finds unexpected elements (in any read), and stale
 * intermediate reads: a read is stale when it holds fewer of the elements acknowledged before its
 * invoke than there are. Counting instead of comparing sets keeps the cost at one lookup per
 * element read; the missing elements are listed only for the stale reads shown as examples.
 */
function scanReads(
  result: SetCheckResult,
  fates: Map<number, ElementFate>,
  reads: readonly Read[],
): void {
  const unexpected = new Set<number>();
  const failedButPresent = new Set<number>();
  const acknowledged = [...fates]
    .filter(([, fate]) => fate.acknowledgedAt !== Infinity)
    .sort((a, b) => a[1].acknowledgedAt - b[1].acknowledgedAt);
  const acknowledgedAt = acknowledged.map(([, fate]) => fate.acknowledgedAt);
  for (const [readNumber, read] of reads.entries()) {
    const invokePosition = read.pair.invokePosition;
    let present = 0;
    for (const element of read.elements) {
      const fate = fates.get(element);
      if (fate === undefined) unexpected.add(element);
      else if (fate.acknowledgedAt === Infinity && !fate.indeterminate) {
        unexpected.add(element);
        failedButPresent.add(element);
      } else if (fate.acknowledgedAt < invokePosition && fate.countedByRead !== readNumber) {
        fate.countedByRead = readNumber;
        present += 1;
      }
    }
    const isFinal = readNumber === reads.length - 1;
    const expected = countBelow(acknowledgedAt, invokePosition);
    if (isFinal || present === expected) continue;
    result.staleReadCount += 1;
    if (result.staleReads.length >= 20) continue;
    const elements = new Set(read.elements);
    const missing = acknowledged
      .slice(0, expected)
      .map(([element]) => element)
      .filter((element) => !elements.has(element));
    result.staleReads.push({
      invokeIndex: read.pair.invoke.index,
      completionIndex: read.pair.completion!.index,
      process: read.pair.process,
      missingCount: missing.length,
      missing: examples(missing.sort((a, b) => a - b)),
    });
  }
  const byValue = (a: number, b: number): number => a - b;
  result.unexpectedCount = unexpected.size;
  result.unexpected = examples([...unexpected].sort(byValue));
  result.failedButPresentCount = failedButPresent.size;
  result.failedButPresent = examples([...failedButPresent].sort(byValue));
}

/** How many of the ascending `values` are below `limit` (binary search). */
function countBelow(values: readonly number[], limit: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (values[middle]! < limit) low = middle + 1;
    else high = middle;
  }
  return low;
}
