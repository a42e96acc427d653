// Lab 07, a retry strategy for every interface function (the grader). The learner writes the
// client's retry policy: how long to wait before the next attempt, or stop. The pure checks ask
// it questions one at a time (backoff with full jitter, Retry-After, bounds, 400s, idempotent
// writes); the cluster checks plug it into every client of a simulated run of the data-type
// counter over flaky links, where a re-sent increment that had landed counts twice and the
// counter checker catches it.

import type { RetryQuestion } from "../../chaos/harness/client.ts";
import { checkCounter } from "../../chaos/checkers/counter.ts";
import type { RunResult } from "../../chaos/harness/run-core.ts";
import { Random } from "../../cluster/runtime/sim/random.ts";
import { callLearner, defineLab, requireFunctions, type CheckOutcome } from "../kit/lab.ts";
import { runFailure } from "../kit/evidence.ts";
import { memoized, simulateWith } from "../shared-b/simulate-with.ts";

export interface RetryModule {
  nextRetryDelayMs(question: RetryQuestion, random: () => number): number | undefined;
}

export const attemptsMax = 4;
export const backoffBaseMs = 20;
export const backoffMaxMs = 1_000;
export const totalTimeMaxMs = 5_000;

/** A definite failure of an idempotent write after `attempts` attempts. */
export function question(overrides: Partial<RetryQuestion> = {}): RetryQuestion {
  return {
    kind: "write",
    idempotent: true,
    outcome: "fail",
    retryable: true,
    retryAfterMs: undefined,
    attempts: 1,
    elapsedMs: 0,
    ...overrides,
  };
}

function ask(
  module: RetryModule,
  asked: RetryQuestion,
  random: () => number,
): { ok: true; value: number | undefined } | { ok: false; message: string } {
  const answer = callLearner("nextRetryDelayMs", () => module.nextRetryDelayMs(asked, random));
  if (!answer.ok) return answer;
  const value = answer.value;
  if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value >= 0))
    return {
      ok: false,
      message: `nextRetryDelayMs(${describe(asked)}) answered ${String(value)}; expected a delay in ms from 0 up, or undefined`,
    };
  return { ok: true, value };
}

export function describe(asked: RetryQuestion): string {
  const parts = [
    `${asked.outcome} ${asked.idempotent ? "idempotent" : "non-idempotent"} ${asked.kind}`,
    `attempts ${asked.attempts}`,
    `elapsed ${asked.elapsedMs} ms`,
  ];
  if (!asked.retryable) parts.push("not retryable");
  if (asked.retryAfterMs !== undefined) parts.push(`Retry-After ${asked.retryAfterMs} ms`);
  return `{ ${parts.join(", ")} }`;
}

function fullJitter(module: RetryModule, seed: number): CheckOutcome {
  const random = new Random(`lab07a:${seed}`);
  const drawsPerRetry = 200;
  for (let attempts = 1; attempts < attemptsMax; attempts += 1) {
    const ceilingMs = Math.min(backoffMaxMs, backoffBaseMs * 2 ** (attempts - 1));
    const asked = question({ attempts, kind: attempts % 2 === 0 ? "read" : "write" });
    const delays: number[] = [];
    for (let draw = 0; draw < drawsPerRetry; draw += 1) {
      const answer = ask(module, asked, () => random.next());
      if (!answer.ok) return answer;
      if (answer.value === undefined)
        return { ok: false, message: `a definite failure was not retried: ${describe(asked)}` };
      if (answer.value >= ceilingMs)
        return {
          ok: false,
          message: `retry ${attempts - 1} waited ${answer.value} ms; full jitter draws below min(${backoffMaxMs}, ${backoffBaseMs} * 2^${attempts - 1}) = ${ceilingMs} ms`,
        };
      delays.push(answer.value);
    }
    const spreadMs = Math.max(...delays) - Math.min(...delays);
    const meanMs = delays.reduce((sum, delay) => sum + delay, 0) / delays.length;
    if (spreadMs < ceilingMs / 2 || Math.abs(meanMs - ceilingMs / 2) > ceilingMs / 5)
      return {
        ok: false,
        message: `retry ${attempts - 1}: ${drawsPerRetry} waits spread over ${spreadMs.toFixed(1)} ms around a mean of ${meanMs.toFixed(1)} ms; full jitter draws uniformly from [0, ${ceilingMs}) (mean ${ceilingMs / 2}), so that clients that failed together do not retry together`,
      };
  }
  return { ok: true, detail: `${(attemptsMax - 1) * drawsPerRetry} waits drawn` };
}

/** Questions whose right answer is "stop" (undefined), with why. */
function mustStop(module: RetryModule, cases: [RetryQuestion, string][]): CheckOutcome {
  for (const [asked, why] of cases) {
    for (const fixed of [0, 0.5, 0.999]) {
      const answer = ask(module, asked, () => fixed);
      if (!answer.ok) return answer;
      const delay = answer.value;
      if (delay === undefined) continue;
      if (
        asked.attempts < attemptsMax &&
        asked.elapsedMs + delay <= totalTimeMaxMs &&
        asked.retryable
      )
        continue; // within the budget: a retry is allowed here
      return { ok: false, message: `${describe(asked)} was retried after ${delay} ms: ${why}` };
    }
  }
  return { ok: true };
}

const runOf = memoized((module: RetryModule, seed: number): RunResult =>
  simulateWith(
    {
      workload: "pn-counter",
      seed,
      timeMs: 20_000,
      cluster: { nodes: 3 },
      client: { concurrency: 10 },
      nemesis: { faults: ["flaky"], intervalMs: 5_000 },
    },
    { retryDecider: (asked, random) => module.nextRetryDelayMs(asked, random) },
  ),
);

function counterCheck(run: RunResult): CheckOutcome {
  const result = checkCounter(run.history);
  if (result.valid === true)
    return {
      ok: true,
      detail: `${result.readCount} reads within bounds, ${run.summary.info} increments left unknown`,
    };
  const first = result.errors[0];
  return runFailure(
    run,
    "counter",
    `${result.reason} First: a read of ${first?.value} where the increments allow ${first?.lowerBound}..${first?.upperBound}: an increment whose answer was lost was sent again and counted twice`,
  );
}

function readsRideOut(run: RunResult): CheckOutcome {
  const failedReads = run.history.filter(
    (operation) => operation.f === "read" && operation.type === "fail",
  );
  if (failedReads.length === 0) return { ok: true, detail: "no read failed" };
  return {
    ok: false,
    message: `${failedReads.length} reads failed while links were flaky (first at operation ${failedReads[0]!.index}, on ${failedReads[0]!.node ?? "?"}); a read changes nothing, so a definite failure should be tried again`,
    run,
  };
}

export const lab07 = defineLab<RetryModule>({
  id: "07",
  slug: "07-retry-strategy",
  title: "A retry strategy for every interface function",
  learnerFile: "retry-policy.ts",
  talkSlide:
    "A retry strategy for every interface function (at-most-once, at-least-once, idempotency)",
  paperSection: "Dynamo 4.5 (execution of get and put) and 6 (client-driven coordination)",
  validate: (module) => requireFunctions(module, ["nextRetryDelayMs"]) as unknown as RetryModule,
  checks: [
    {
      id: "07a",
      title: "a definite failure is retried with full jitter below min(1000, 20 * 2^k) ms",
      needs: "pure",
      run: ({ module, seed }) => fullJitter(module, seed),
    },
    {
      id: "07b",
      title: "a request that can never succeed (400) is not retried",
      needs: "pure",
      run: ({ module }) =>
        mustStop(module, [
          [question({ retryable: false }), "a 400 will be a 400 again"],
          [question({ retryable: false, kind: "read" }), "a 400 will be a 400 again"],
        ]),
    },
    {
      id: "07c",
      title: "an overloaded node's Retry-After is waited out",
      needs: "pure",
      run: ({ module }) => {
        for (const retryAfterMs of [300, 700]) {
          const asked = question({ retryAfterMs, attempts: 1 });
          const answer = ask(module, asked, () => 0.5);
          if (!answer.ok) return answer;
          if (answer.value === undefined || answer.value < retryAfterMs)
            return {
              ok: false,
              message: `${describe(asked)} answered ${String(answer.value)}; the node asked for at least ${retryAfterMs} ms, and shed load comes straight back otherwise`,
            };
        }
        return { ok: true };
      },
    },
    {
      id: "07d",
      title: "retries stop: at most 4 attempts, none later than 5000 ms after the first",
      needs: "pure",
      run: ({ module }) =>
        mustStop(module, [
          [question({ attempts: 4 }), "4 attempts is the bound"],
          [question({ attempts: 9, kind: "read" }), "4 attempts is the bound"],
          [question({ attempts: 3, elapsedMs: 4_990 }), "the 5000 ms budget is spent"],
          [
            question({ attempts: 2, elapsedMs: 6_000, kind: "read" }),
            "the 5000 ms budget is spent",
          ],
        ]),
    },
    {
      id: "07e",
      title: "an idempotent write that may have landed is sent again",
      needs: "pure",
      run: ({ module }) => {
        const asked = question({ outcome: "info", idempotent: true, attempts: 1 });
        const answer = ask(module, asked, () => 0.5);
        if (!answer.ok) return answer;
        return answer.value === undefined
          ? {
              ok: false,
              message: `${describe(asked)} was not retried; applying it twice equals applying it once, so trying again is safe and makes the write more available`,
            }
          : { ok: true };
      },
    },
    {
      id: "07f",
      title: "a counter increment is never counted twice over flaky links",
      needs: "cluster",
      run: ({ module, seed, note }) => {
        note("pn-counter, 3 nodes, flaky links, 20 s simulated");
        return counterCheck(runOf(module, seed));
      },
    },
    {
      id: "07g",
      title: "reads ride out flaky links: no read fails",
      needs: "cluster",
      run: ({ module, seed }) => readsRideOut(runOf(module, seed)),
    },
  ],
  mistakes: {
    "retry-everything.ts": {
      fails: "07f",
      why: "a timed-out increment is re-sent and counted twice",
    },
    "no-jitter.ts": { fails: "07a", why: "clients that failed together retry together" },
    "ignores-retry-after.ts": { fails: "07c", why: "the overloaded node hears back at once" },
    "retry-forever.ts": { fails: "07d", why: "no bound on attempts or time" },
    "retries-bad-request.ts": { fails: "07b", why: "a 400 is sent four times" },
  },
});
