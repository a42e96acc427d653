// The availability and latency checker (lesson 10, monitoring for five nines; lesson 9, capacity
// planning): how many requests succeeded, how fast, and how that changed while faults were in
// force. It judges only when given a target (`minimumAvailability`); otherwise it measures. No
// Node built-ins: it runs in the browser too.

import type { Operation } from "../harness/history.ts";
import { faultWindows, overlapsFault, pairOperations, percentile } from "./history-view.ts";
import type { FaultWindow, PairedOperation, Validity } from "./history-view.ts";

export interface AvailabilityCheckOptions {
  /** Fault windows to use instead of the ones derived from the history's nemesis operations. */
  faultWindows?: readonly FaultWindow[];
  /** The fraction of operations (0 to 1) that must complete ok, e.g. 0.99. Unset: never invalid. */
  minimumAvailability?: number;
  /** Width of one time-series bucket. Default one second; widened to keep 10000 buckets at most. */
  bucketNs?: number;
}

/** Latency percentiles of ok operations, in nanoseconds; undefined when there are none. */
export interface LatencyPercentiles {
  count: number;
  p50Ns?: number;
  p95Ns?: number;
  p99Ns?: number;
  p999Ns?: number;
  maxNs?: number;
}

export interface LatencyByFunction {
  f: string;
  all: LatencyPercentiles;
  /** Operations whose invoke-to-completion interval overlapped a fault window. */
  duringFault: LatencyPercentiles;
  noFault: LatencyPercentiles;
}

/** One bucket of the time series; operations are counted in the bucket of their invoke. */
export interface AvailabilityBucket {
  startNs: number;
  ok: number;
  fail: number;
  /** Indeterminate: info, or never completed. */
  info: number;
  /** ok / (ok + fail + info), or undefined for an empty bucket. */
  okFraction?: number;
  latencyP50Ns?: number;
  latencyP95Ns?: number;
  latencyP99Ns?: number;
}

export interface AvailabilityCheckResult {
  valid: Validity;
  reason: string;
  operationCount: number;
  okCount: number;
  failCount: number;
  infoCount: number;
  /** ok / all client operations; undefined when there are none. */
  okFraction?: number;
  okFractionDuringFault?: number;
  okFractionNoFault?: number;
  minimumAvailability?: number;
  latency: LatencyByFunction[];
  bucketNs: number;
  buckets: AvailabilityBucket[];
  faultWindows: FaultWindow[];
}

const bucketCountMax = 10_000;
const secondNs = 1_000_000_000;

/**
 * Measures availability (the fraction of client operations that completed ok; fail and info both
 * count against it, since the client did not get its answer) and latency (invoke to completion of
 * ok operations, per function, split by whether a fault window overlapped the operation).
 * Verdict: true, or false when `minimumAvailability` is given and not met, or "unknown" when it is
 * given but there are no operations.
 *
 * Worked example: 100 reads, 97 ok, 2 fail, 1 info: okFraction 0.97. With a partition from 10 s
 * to 20 s and all three failures inside it, okFractionNoFault is 1 and okFractionDuringFault is
 * lower; `minimumAvailability: 0.99` makes the verdict false.
 */
export function checkAvailability(
  history: readonly Operation[],
  options: AvailabilityCheckOptions = {},
): AvailabilityCheckResult {
  const minimum = options.minimumAvailability;
  if (minimum !== undefined && !(minimum >= 0 && minimum <= 1)) {
    throw new Error(`Expected \`minimumAvailability\` to be a number from 0 to 1, got ${minimum}`);
  }
  const pairs = pairOperations(history);
  const windows = [...(options.faultWindows ?? faultWindows(history))];
  const endNs = history.length > 0 ? history[history.length - 1]!.time : 0;
  const inFault = (pair: PairedOperation): boolean =>
    overlapsFault(windows, pair.invokeTimeNs, Math.min(pair.completionTimeNs, endNs));
  const counts = countOutcomes(pairs);
  const faulty = pairs.filter(inFault);
  const calm = pairs.filter((pair) => !inFault(pair));
  const bucketNs = chooseBucketNs(options.bucketNs, endNs);
  const result: AvailabilityCheckResult = {
    valid: true,
    reason: "",
    operationCount: pairs.length,
    ...counts,
    latency: latencyByFunction(pairs, inFault),
    bucketNs,
    buckets: buckets(pairs, bucketNs, endNs),
    faultWindows: windows,
  };
  setIfDefined(result, "okFraction", okFraction(pairs));
  setIfDefined(result, "okFractionDuringFault", okFraction(faulty));
  setIfDefined(result, "okFractionNoFault", okFraction(calm));
  if (minimum === undefined) {
    result.reason = "Measured only: no `minimumAvailability` was given.";
  } else {
    result.minimumAvailability = minimum;
    if (result.okFraction === undefined) {
      result.valid = "unknown";
      result.reason = "No client operation was recorded, so availability cannot be judged.";
    } else {
      result.valid = result.okFraction >= minimum;
      result.reason = `Availability ${formatFraction(result.okFraction)} ${
        result.valid ? "meets" : "is below"
      } the minimum ${formatFraction(minimum)}.`;
    }
  }
  return result;
}

function setIfDefined<T extends object, K extends keyof T>(
  target: T,
  key: K,
  value: T[K] | undefined,
): void {
  if (value !== undefined) target[key] = value;
}

function formatFraction(fraction: number): string {
  return `${(fraction * 100).toFixed(3)}%`;
}

function countOutcomes(pairs: readonly PairedOperation[]): {
  okCount: number;
  failCount: number;
  infoCount: number;
} {
  const counts = { okCount: 0, failCount: 0, infoCount: 0 };
  for (const pair of pairs) {
    if (pair.outcome === "ok") counts.okCount += 1;
    else if (pair.outcome === "fail") counts.failCount += 1;
    else counts.infoCount += 1;
  }
  return counts;
}

function okFraction(pairs: readonly PairedOperation[]): number | undefined {
  if (pairs.length === 0) return undefined;
  return pairs.filter((pair) => pair.outcome === "ok").length / pairs.length;
}

/** Latencies of ok operations, sorted ascending. */
function okLatencies(pairs: readonly PairedOperation[]): number[] {
  return pairs
    .filter((pair) => pair.outcome === "ok")
    .map((pair) => pair.completionTimeNs - pair.invokeTimeNs)
    .sort((a, b) => a - b);
}

export function latencyPercentiles(sortedLatenciesNs: readonly number[]): LatencyPercentiles {
  const result: LatencyPercentiles = { count: sortedLatenciesNs.length };
  if (sortedLatenciesNs.length === 0) return result;
  result.p50Ns = percentile(sortedLatenciesNs, 0.5)!;
  result.p95Ns = percentile(sortedLatenciesNs, 0.95)!;
  result.p99Ns = percentile(sortedLatenciesNs, 0.99)!;
  result.p999Ns = percentile(sortedLatenciesNs, 0.999)!;
  result.maxNs = sortedLatenciesNs[sortedLatenciesNs.length - 1]!;
  return result;
}

function latencyByFunction(
  pairs: readonly PairedOperation[],
  inFault: (pair: PairedOperation) => boolean,
): LatencyByFunction[] {
  const functions = [...new Set(pairs.map((pair) => pair.f))].sort();
  return functions.map((f) => {
    const ofFunction = pairs.filter((pair) => pair.f === f);
    return {
      f,
      all: latencyPercentiles(okLatencies(ofFunction)),
      duringFault: latencyPercentiles(okLatencies(ofFunction.filter(inFault))),
      noFault: latencyPercentiles(okLatencies(ofFunction.filter((pair) => !inFault(pair)))),
    };
  });
}

function chooseBucketNs(requestedNs: number | undefined, endNs: number): number {
  const bucketNs = requestedNs ?? secondNs;
  if (!(Number.isSafeInteger(bucketNs) && bucketNs > 0)) {
    throw new Error(`Expected \`bucketNs\` to be a positive integer, got ${bucketNs}`);
  }
  const multiple = Math.ceil((endNs + 1) / bucketNs / bucketCountMax);
  return bucketNs * Math.max(1, multiple);
}

function buckets(
  pairs: readonly PairedOperation[],
  bucketNs: number,
  endNs: number,
): AvailabilityBucket[] {
  const bucketCount = Math.floor(endNs / bucketNs) + 1;
  const result: AvailabilityBucket[] = [];
  const latencies: number[][] = [];
  for (let bucket = 0; bucket < bucketCount; bucket += 1) {
    result.push({ startNs: bucket * bucketNs, ok: 0, fail: 0, info: 0 });
    latencies.push([]);
  }
  for (const pair of pairs) {
    const bucket = Math.floor(pair.invokeTimeNs / bucketNs);
    result[bucket]![pair.outcome] += 1;
    if (pair.outcome === "ok") latencies[bucket]!.push(pair.completionTimeNs - pair.invokeTimeNs);
  }
  for (const [bucket, entry] of result.entries()) {
    const total = entry.ok + entry.fail + entry.info;
    if (total > 0) entry.okFraction = entry.ok / total;
    const sorted = latencies[bucket]!.sort((a, b) => a - b);
    if (sorted.length === 0) continue;
    entry.latencyP50Ns = percentile(sorted, 0.5)!;
    entry.latencyP95Ns = percentile(sorted, 0.95)!;
    entry.latencyP99Ns = percentile(sorted, 0.99)!;
  }
  return result;
}
