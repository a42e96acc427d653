// The run behind the "play a partition live" page (lesson 3, network splits; lesson 1, a seed is
// how you see the same concurrency twice): five simulated nodes, clients adding to one set, and
// one partition in the middle of the run, drawn from the seed by the same nemesis code the CLI
// uses (chaos/nemesis/partitions.ts through chaos/harness/faults.ts). The set checker judges the
// history at the end.
//
// The page (partition.ts) and the browser test (../browser.test.ts) both build the run from
// here, so "the same run" means the same options: the test runs it in Node, the page in
// Chromium, and the two history hashes must match. No Node built-ins and no DOM in this file.
//
// The timeline of one demo run (timeMs = 30 s, one fault interval of 20 s):
//   0 s ........ 10 s ==== partition ==== 20 s ........ 30 s | quiet | final reads
//   clients add and read the whole time; the partition heals at 20 s.

import { sha1Hex } from "../../cluster/core/sha1.ts";
import type { RunResult, RunSummary } from "../../chaos/harness/run-core.ts";
import { SimulatedRun } from "../../chaos/harness/run-core.ts";
import { resolveRunOptions, type RunOptions } from "../../chaos/harness/run-options.ts";
import type { TraceEntry } from "../../cluster/runtime/sim/simulator.ts";

/** The seed a page without `?seed=` plays. */
export const defaultSeed = 42;
/** Seeds are integers from 0 to this (the URL is user input: bounded like every input). */
export const seedMax = 2 ** 31 - 1;

/**
 * The demo's options for `seed`. Small on purpose: 5 clients at 5 operations per second each
 * for 30 s of virtual time, about 800 operations, which a laptop's browser runs in about a
 * second.
 */
export function demoRunOptions(seed: number): RunOptions {
  return resolveRunOptions({
    workload: "set",
    name: "browser-demo",
    seed,
    timeMs: 30_000,
    cluster: { nodes: 5 },
    client: { concurrency: 5, ratePerSecond: 5 },
    // One interval of 20 s whose last 10 s are faulty: a partition from 10 s to 20 s.
    nemesis: { faults: ["partition"], intervalMs: 20_000, durationMs: 10_000 },
    trace: true,
  });
}

/**
 * Reads the seed from a URL query such as "?seed=42". Missing means `defaultSeed`; anything but
 * an integer from 0 to `seedMax` is a one-line RangeError the page shows as it is.
 */
export function parseSeed(search: string): number {
  const text = new URLSearchParams(search).get("seed");
  if (text === null || text === "") return defaultSeed;
  const seed = /^\d{1,10}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(seed) || seed > seedMax) {
    throw new RangeError(
      `Expected \`seed\` to be an integer from 0 to ${seedMax}, got ${JSON.stringify(text)}`,
    );
  }
  return seed;
}

/** What the page prints and the test compares: counts, verdicts and the two hashes. */
export interface DemoSummary {
  seed: number;
  operationCount: number;
  ok: number;
  fail: number;
  info: number;
  messages: RunSummary["messages"];
  partition: { description: string; startMs: number; stopMs: number; cut: string[] } | undefined;
  verdict: RunSummary["verdict"];
  checkers: RunSummary["checkers"];
  /** The set checker's one-sentence reason. */
  reason: string;
  simulatedMs: number;
  /** SHA-1 of JSON.stringify(history): equal in every runtime for the same seed. */
  historyHash: string;
  /** SHA-1 of the message trace with times in whole nanoseconds (see `traceText`). */
  traceHash: string;
  historyLength: number;
  traceLength: number;
}

/**
 * The trace as text, with times rounded to whole nanoseconds, the resolution histories use.
 * Why round: link latencies are drawn with Math.log (Random.exponential), and Math.log, exp, pow,
 * sin and cos are not correctly rounded in JavaScript. V8's answers changed between versions:
 * Node 20 and Chromium 156 differ in the last bit for about one input in ten, so raw trace times
 * such as 4359.292072017052 ms and 4359.292072017053 ms are the same event in the two runtimes.
 */
export function traceText(trace: readonly TraceEntry[]): string {
  const nanosecondsPerMillisecond = 1_000_000;
  return JSON.stringify(
    trace.map(([timeMs, ...rest]) => [
      Math.round(timeMs * nanosecondsPerMillisecond) / nanosecondsPerMillisecond,
      ...rest,
    ]),
  );
}

/** The summary of a finished run. Wall time is left out: it is the one thing allowed to differ. */
export function summarize(result: RunResult): DemoSummary {
  const { summary, schedule, results } = result;
  const first = schedule[0];
  const fault = first?.fault;
  const setReason = results["set"]?.["reason"];
  return {
    seed: summary.seed,
    operationCount: summary.operationCount,
    ok: summary.ok,
    fail: summary.fail,
    info: summary.info,
    messages: summary.messages,
    partition:
      first !== undefined && fault?.name === "partition"
        ? {
            description: fault.description,
            startMs: first.startMs,
            stopMs: first.stopMs,
            cut: fault.cut,
          }
        : undefined,
    verdict: summary.verdict,
    checkers: summary.checkers,
    reason: typeof setReason === "string" ? setReason : "",
    simulatedMs: summary.simulatedMs,
    historyHash: sha1Hex(JSON.stringify(result.history)),
    traceHash: sha1Hex(traceText(result.trace)),
    historyLength: result.history.length,
    traceLength: result.trace.length,
  };
}

/** The whole demo run at once (the browser test's Node side). */
export function runDemo(seed: number): DemoSummary {
  const run = new SimulatedRun(demoRunOptions(seed));
  while (run.advance(10_000)) {
    // Slices of 10 s; the page advances 1 s at a time, and the result must not care.
  }
  return summarize(run.result(0));
}
