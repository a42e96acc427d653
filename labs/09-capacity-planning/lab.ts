// Lab 09, capacity planning (the grader). The learner writes the admission policy a node asks
// before it takes a client request (cluster/core/policies.ts's `admit`). The pure checks ask it
// at and around its budgets; a queue model (one server, 10 ms per request, offered three times
// what it can serve) shows what the policy does to waiting time and memory; the cluster check
// floods a simulated cluster whose links are slow, with the policy in every node and clients
// that follow Retry-After, and measures the most work any node held at once.

import type {
  AdmissionDecision,
  AdmissionInput,
  PolicyOverrides,
} from "../../cluster/core/policies.ts";
import { Random } from "../../cluster/runtime/sim/random.ts";
import { callLearner, defineLab, requireFunctions, type CheckOutcome } from "../kit/lab.ts";
import {
  memoized,
  policiesModuleSource,
  runWithPolicies,
  simulateWith,
} from "../shared-b/simulate-with.ts";
import type { RunOptionsInput } from "../../chaos/harness/run-options.ts";
import type { RunResult } from "../../chaos/harness/run-core.ts";

export interface AdmissionModule {
  admit(input: AdmissionInput): AdmissionDecision;
}

export const retryAfterMinMs = 100;
export const retryAfterMaxMs = 1_000;

export function admissionInput(overrides: Partial<AdmissionInput> = {}): AdmissionInput {
  return {
    requestsAwaiting: 0,
    requestsInFlightMax: 20,
    partition: 3,
    partitionRequestsAwaiting: 0,
    partitionRequestsInFlightMax: 8,
    random: () => 0.5,
    ...overrides,
  };
}

type Answer = { ok: true; decision: AdmissionDecision } | { ok: false; message: string };

function ask(module: AdmissionModule, input: AdmissionInput): Answer {
  const answer = callLearner("admit", () => module.admit(input));
  if (!answer.ok) return answer;
  const decision = answer.value as Partial<{
    admit: unknown;
    detail: unknown;
    retryAfterMs: unknown;
  }>;
  if (decision?.admit === true) return { ok: true, decision: { admit: true } };
  if (
    decision?.admit === false &&
    typeof decision.detail === "string" &&
    Number.isFinite(decision.retryAfterMs)
  )
    return { ok: true, decision: answer.value };
  return {
    ok: false,
    message: `admit(${describe(input)}) returned ${JSON.stringify(answer.value)}; expected { admit: true } or { admit: false, detail, retryAfterMs }`,
  };
}

function describe(input: AdmissionInput): string {
  return `{ node ${input.requestsAwaiting}/${input.requestsInFlightMax}, partition ${input.partition} ${input.partitionRequestsAwaiting}/${input.partitionRequestsInFlightMax} }`;
}

function expectAll(
  module: AdmissionModule,
  cases: [AdmissionInput, boolean, string][],
): CheckOutcome {
  for (const [input, admitted, why] of cases) {
    const answer = ask(module, input);
    if (!answer.ok) return answer;
    if (answer.decision.admit !== admitted)
      return {
        ok: false,
        message: `admit(${describe(input)}) ${answer.decision.admit ? "admitted" : "refused"} it: ${why}`,
      };
  }
  return { ok: true, detail: `${cases.length} decisions` };
}

export interface QueueOutcome {
  accepted: number;
  refused: number;
  /** The most requests the node held at once (memory). */
  heldMax: number;
  /** The longest an accepted request waited, its own service included. */
  waitMaxMs: number;
}

/**
 * One server taking 10 ms per request, first come first served, offered 300 requests a second
 * (three times what it serves) for 10 s; 30% of them for one hot partition, the rest spread over
 * 16. Each arrival asks the policy with what the node holds at that instant. Deterministic.
 */
export function queueModel(
  module: AdmissionModule,
  seed: number,
  requestsInFlightMax = 20,
): QueueOutcome | string {
  const random = new Random(`lab09:queue:${seed}`);
  const serviceMs = 10;
  const held: { partition: number; arrivedMs: number }[] = [];
  let serverFreeAtMs = 0;
  const outcome: QueueOutcome = { accepted: 0, refused: 0, heldMax: 0, waitMaxMs: 0 };
  const finishedBy = (timeMs: number) => {
    // `held[0]` is in service; it finishes at serverFreeAtMs - (held.length - 1) * serviceMs.
    while (held.length > 0 && serverFreeAtMs - (held.length - 1) * serviceMs <= timeMs)
      held.shift();
  };
  for (
    let nowMs = random.exponential(1_000 / 300);
    nowMs < 10_000;
    nowMs += random.exponential(1_000 / 300)
  ) {
    finishedBy(nowMs);
    const partition = random.chance(0.3) ? 0 : 1 + random.integer(15);
    const input = admissionInput({
      requestsAwaiting: held.length,
      requestsInFlightMax,
      partition,
      partitionRequestsAwaiting: held.filter((request) => request.partition === partition).length,
      random: () => random.next(),
    });
    const answer = ask(module, input);
    if (!answer.ok) return answer.message;
    if (!answer.decision.admit) {
      outcome.refused += 1;
      continue;
    }
    outcome.accepted += 1;
    serverFreeAtMs = Math.max(serverFreeAtMs, nowMs) + serviceMs;
    held.push({ partition, arrivedMs: nowMs });
    outcome.heldMax = Math.max(outcome.heldMax, held.length);
    outcome.waitMaxMs = Math.max(outcome.waitMaxMs, serverFreeAtMs - nowMs);
  }
  return outcome;
}

/** The learner's admit as the nodes' policy, recording the most requests any node held. */
function observedPolicies(module: AdmissionModule): {
  policies: PolicyOverrides;
  heldMax: () => number;
} {
  let heldMax = 0;
  return {
    policies: {
      admit: (input) => {
        const decision = module.admit(input);
        if (decision.admit) heldMax = Math.max(heldMax, input.requestsAwaiting + 1);
        return decision;
      },
    },
    heldMax: () => heldMax,
  };
}

export const floodBudget = 10;

const floodInput = (seed: number): RunOptionsInput => ({
  workload: "register",
  seed,
  timeMs: 5_000,
  cluster: { nodes: 3, requestsInFlightMax: floodBudget },
  client: { concurrency: 90, ratePerSecond: 20, retry: "retry-on-definite-failure" },
  nemesis: { faults: ["slow"], intervalMs: 5_000, durationMs: 5_000 },
  checkers: ["availability"],
});

const floodOf = memoized((module: AdmissionModule, seed: number) => {
  const observed = observedPolicies(module);
  const run = simulateWith(floodInput(seed), { policies: observed.policies });
  return { run, heldMax: observed.heldMax() };
});

function floodVerdict(run: RunResult, heldMax: number | undefined): CheckOutcome {
  const refused = Object.entries(run.summary.failureReasons)
    .filter(([reason]) => reason.includes("overload"))
    .reduce((sum, [, count]) => sum + count, 0);
  if (heldMax !== undefined && heldMax > floodBudget)
    return {
      ok: false,
      message: `a node held ${heldMax} requests at once with a budget of ${floodBudget}: under a flood its memory grows with the offered load, not with what it can serve`,
      run,
    };
  if (run.summary.ok === 0)
    return { ok: false, message: "no request succeeded under the flood", run };
  return {
    ok: true,
    detail: `${run.summary.ok} ok, ${refused} gave up after refusals${heldMax === undefined ? "" : `, at most ${heldMax} held`}`,
  };
}

const buildPolicies = "(learner) => ({ admit: learner.admit })";

export const lab09 = defineLab<AdmissionModule>({
  id: "09",
  slug: "09-capacity-planning",
  title: "Capacity planning: admission and back pressure",
  learnerFile: "admission.ts",
  talkSlide: "Capacity planning: no single point of failure, load regulation, back pressure",
  paperSection: "Dynamo 6.5 (admission control of background tasks), 4.7 (request load)",
  validate: (module) => requireFunctions(module, ["admit"]) as unknown as AdmissionModule,
  checks: [
    {
      id: "09a",
      title: "admits every request while under both budgets",
      needs: "pure",
      run: ({ module }) =>
        expectAll(module, [
          [admissionInput(), true, "the node is idle"],
          [
            admissionInput({ requestsAwaiting: 19, partitionRequestsAwaiting: 7 }),
            true,
            "both are one below their budget",
          ],
        ]),
    },
    {
      id: "09b",
      title: "refuses at the node's budget, never one more",
      needs: "pure",
      run: ({ module }) =>
        expectAll(module, [
          [
            admissionInput({ requestsAwaiting: 20 }),
            false,
            "the node already waits on its budget of 20",
          ],
          [admissionInput({ requestsAwaiting: 500 }), false, "the node is far past its budget"],
          [
            admissionInput({ requestsAwaiting: 5, requestsInFlightMax: 5 }),
            false,
            "a budget of 5 is full at 5",
          ],
        ]),
    },
    {
      id: "09c",
      title: "refuses at a hot partition's budget, even with the node under its own",
      needs: "pure",
      run: ({ module }) =>
        expectAll(module, [
          [
            admissionInput({ requestsAwaiting: 8, partitionRequestsAwaiting: 8 }),
            false,
            "the partition already waits on its budget of 8",
          ],
          [
            admissionInput({ requestsAwaiting: 8, partitionRequestsAwaiting: 3 }),
            true,
            "only the partition's own requests count against it",
          ],
        ]),
    },
    {
      id: "09d",
      title: "a refusal says when to come back: 100 to 1000 ms, spread out",
      needs: "pure",
      run: ({ module, seed }) => {
        const random = new Random(`lab09d:${seed}`);
        const delays: number[] = [];
        for (let draw = 0; draw < 100; draw += 1) {
          const answer = ask(
            module,
            admissionInput({ requestsAwaiting: 20, random: () => random.next() }),
          );
          if (!answer.ok) return answer;
          if (answer.decision.admit)
            return { ok: false, message: "a full node admitted the request" };
          const delay = answer.decision.retryAfterMs;
          if (!(delay >= retryAfterMinMs && delay <= retryAfterMaxMs))
            return {
              ok: false,
              message: `retryAfterMs was ${delay}; from ${retryAfterMinMs} to ${retryAfterMaxMs} ms: sooner brings the shed load straight back, later leaves the node idle`,
            };
          delays.push(delay);
        }
        const spreadMs = Math.max(...delays) - Math.min(...delays);
        return spreadMs >= 50
          ? {
              ok: true,
              detail: `Retry-After from ${Math.min(...delays)} to ${Math.max(...delays)} ms`,
            }
          : {
              ok: false,
              message: `100 refusals said come back within ${spreadMs} ms of each other: the clients refused together all return together`,
            };
      },
    },
    {
      id: "09e",
      title:
        "at three times its capacity, accepted requests wait at most 200 ms and the node holds at most 20",
      needs: "pure",
      run: ({ module, seed }) => {
        const outcome = queueModel(module, seed);
        if (typeof outcome === "string") return { ok: false, message: outcome };
        const summary = `${outcome.accepted} accepted, ${outcome.refused} refused, at most ${outcome.heldMax} held, longest wait ${outcome.waitMaxMs.toFixed(0)} ms`;
        return outcome.heldMax <= 20 && outcome.waitMaxMs <= 200.5
          ? { ok: true, detail: summary }
          : {
              ok: false,
              message: `${summary}: every accepted request waits behind all the others it holds`,
            };
      },
    },
    {
      id: "09f",
      title: `a flooded cluster keeps each node within its budget (${floodBudget}) while clients follow Retry-After`,
      needs: "cluster",
      run: async (context) => {
        context.note("90 clients against 3 nodes over slow links");
        if (context.backend === "sim") {
          const { run, heldMax } = floodOf(context.module, context.seed);
          return floodVerdict(run, heldMax);
        }
        const run = await runWithPolicies(
          context,
          floodInput(context.seed),
          { admit: (input) => context.module.admit(input) },
          policiesModuleSource(context.learnerFile, buildPolicies),
        );
        return floodVerdict(run, undefined);
      },
    },
  ],
  mistakes: {
    "admit-everything.ts": {
      fails: "09b",
      why: "no back pressure: memory and waits grow without bound",
    },
    "off-by-one.ts": { fails: "09b", why: "takes one request more than the budget" },
    "node-budget-only.ts": { fails: "09c", why: "one hot partition can take the whole node" },
    "same-retry-after.ts": { fails: "09d", why: "every refused client comes back at once" },
    "retry-at-once.ts": { fails: "09d", why: "shed load comes straight back" },
  },
});
