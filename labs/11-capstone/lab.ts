// Lab 11, the capstone (the grader): a cluster blueprint validated by chaos runs across
// workloads and faults. Each check builds a simulated cluster to the blueprint and runs the
// workload that stands for one requirement, judged by that requirement's checker:
//
//   11b cart       cart workload, partitions, crashes, clock skew  -> cart + availability 99%
//   11c session    blind lww writes, partitions                    -> linearizable
//   11d counter    read-modify-write counter, partitions, skew      -> counter
//   11e increments POST increments over flaky links (3 nodes)      -> counter (counted once)
//   11f capacity   lab 09's queue model at 3x capacity             -> accepted within 250 ms
//   11g alarms     lab 10's incident, node-down at the threshold   -> paged before the SLA breaks

import type { CheckerName } from "../../chaos/harness/checks.ts";
import type { RunOptionsInput } from "../../chaos/harness/run-options.ts";
import { workloads } from "../../chaos/harness/workloads/index.ts";
import { defaultPolicies } from "../../cluster/core/policies.ts";
import { runFailure } from "../kit/evidence.ts";
import {
  callLearner,
  defineLab,
  requireFunctions,
  type CheckContext,
  type CheckOutcome,
} from "../kit/lab.ts";
import { queueModel } from "../09-capacity-planning/lab.ts";
import { pagedBeforeBreach } from "../10-monitoring/lab.ts";
import { memoized, simulateWith } from "../shared-b/simulate-with.ts";

export type RetryChoice = "none" | "retry-on-definite-failure" | "retry-with-idempotency-key";
const retryChoices: RetryChoice[] = [
  "none",
  "retry-on-definite-failure",
  "retry-with-idempotency-key",
];

export interface DataTypePlan {
  n: number;
  r: number;
  w: number;
  pw: number;
  mode: "causal" | "lww";
  retry: RetryChoice;
}

export interface Blueprint {
  nodes: number;
  cart: DataTypePlan;
  session: DataTypePlan;
  counter: DataTypePlan;
  requestsInFlightMax: number;
  pageWhenPeersDown: number;
}

export interface BlueprintModule {
  blueprint(): Blueprint;
}

type DataType = "cart" | "session" | "counter";
const dataTypes: DataType[] = ["cart", "session", "counter"];
export const nodeCountMin = 3;
export const nodeCountMax = 8;
export const answerWithinMs = 250;

function planProblem(
  name: DataType,
  plan: Partial<DataTypePlan> | undefined,
  nodes: number,
): string | undefined {
  if (typeof plan !== "object" || plan === null)
    return `\`${name}\` is missing; expected { n, r, w, pw, mode, retry }`;
  const integer = (field: "n" | "r" | "w" | "pw", low: number, high: number) =>
    Number.isSafeInteger(plan[field]) && plan[field]! >= low && plan[field]! <= high
      ? undefined
      : `\`${name}.${field}\` is ${String(plan[field])}; expected an integer from ${low} to ${high}`;
  return (
    integer("n", 1, nodes) ??
    integer("r", 1, plan.n!) ??
    integer("w", 1, plan.n!) ??
    integer("pw", 0, plan.w!) ??
    (plan.mode === "causal" || plan.mode === "lww"
      ? undefined
      : `\`${name}.mode\` is ${String(plan.mode)}; expected "causal" or "lww"`) ??
    (retryChoices.includes(plan.retry as RetryChoice)
      ? undefined
      : `\`${name}.retry\` is ${String(plan.retry)}; expected one of ${retryChoices.join(", ")}`)
  );
}

/** The learner's blueprint, checked against the contract's ranges, or the problem. */
const blueprintOf = memoized((module: BlueprintModule): Blueprint | string => {
  const answer = callLearner("blueprint", () => module.blueprint());
  if (!answer.ok) return answer.message;
  const value = answer.value as Partial<Blueprint> | null;
  if (typeof value !== "object" || value === null) return `blueprint() returned ${String(value)}`;
  const nodes = value.nodes as number;
  if (!(Number.isSafeInteger(nodes) && nodes >= nodeCountMin && nodes <= nodeCountMax))
    return `\`nodes\` is ${String(nodes)}; expected an integer from ${nodeCountMin} to ${nodeCountMax}`;
  for (const name of dataTypes) {
    const problem = planProblem(name, value[name], nodes);
    if (problem !== undefined) return problem;
  }
  if (!(
    Number.isSafeInteger(value.requestsInFlightMax) &&
    value.requestsInFlightMax! >= 1 &&
    value.requestsInFlightMax! <= 100_000
  ))
    return `\`requestsInFlightMax\` is ${String(value.requestsInFlightMax)}; expected an integer from 1 to 100000`;
  if (!(
    Number.isSafeInteger(value.pageWhenPeersDown) &&
    value.pageWhenPeersDown! >= 1 &&
    value.pageWhenPeersDown! < nodes
  ))
    return `\`pageWhenPeersDown\` is ${String(value.pageWhenPeersDown)}; expected an integer from 1 to ${nodes - 1}`;
  return value as Blueprint;
});

/** A check that needs a well-formed blueprint. */
function withBlueprint(
  run: (blueprint: Blueprint, context: CheckContext<BlueprintModule>) => CheckOutcome,
): (context: CheckContext<BlueprintModule>) => CheckOutcome {
  return (context) => {
    const blueprint = blueprintOf(context.module, 0);
    return typeof blueprint === "string"
      ? { ok: false, message: blueprint }
      : run(blueprint, context);
  };
}

function cluster(
  blueprint: Blueprint,
  plan: DataTypePlan,
  workload: string,
  nodes = blueprint.nodes,
) {
  const { n, r, w, pw, mode } = plan;
  return {
    nodes,
    n,
    r,
    w,
    pw,
    requestsInFlightMax: blueprint.requestsInFlightMax,
    bucketModes: { [workloads[workload]!.bucket]: mode },
  };
}

function chaos(
  context: CheckContext<BlueprintModule>,
  input: RunOptionsInput,
  judged: CheckerName[],
  what: string,
): CheckOutcome {
  context.note(`${input.workload}: ${input.nemesis?.faults?.join(", ") ?? "no faults"}`);
  const run = simulateWith(input, {}, context.note);
  for (const checker of judged) {
    const result = run.results[checker]!;
    if (result.valid === true) continue;
    const reason =
      typeof result.reason === "string" ? result.reason : `verdict ${String(result.valid)}`;
    return runFailure(run, checker, `${what}: the ${checker} checker says ${reason}`);
  }
  return {
    ok: true,
    detail: `${run.summary.ok} ok, ${run.summary.fail} fail, ${run.summary.info} info; ${judged.join(" and ")} valid`,
  };
}

const alarmModules = new WeakMap<Blueprint, { alarmRules: typeof defaultPolicies.alarmRules }>();

/** The reference alarm rules with the blueprint's node-down threshold. */
function alarmModuleOf(blueprint: Blueprint) {
  let module = alarmModules.get(blueprint);
  if (module === undefined) {
    module = {
      alarmRules: (measured) =>
        defaultPolicies
          .alarmRules(measured)
          .map((alarm) =>
            alarm.name === "node-down"
              ? { ...alarm, active: measured.peersDown.length >= blueprint.pageWhenPeersDown }
              : alarm,
          ),
    };
    alarmModules.set(blueprint, module);
  }
  return module;
}

export const lab11 = defineLab<BlueprintModule>({
  id: "11",
  slug: "11-capstone",
  title: "Capstone: the ten steps, as one cluster blueprint",
  learnerFile: "blueprint.ts",
  talkSlide: "The ten steps (node ratios, quorums, retries, sharing, back pressure, alarms)",
  paperSection:
    "Dynamo 2 (system assumptions and requirements), 4 (system architecture), 6 (experiences)",
  validate: (module) => requireFunctions(module, ["blueprint"]) as unknown as BlueprintModule,
  checks: [
    {
      id: "11a",
      title:
        "a well-formed blueprint where one node down leaves a fallback for every key (nodes > N)",
      needs: "pure",
      run: withBlueprint((blueprint) => {
        const largest = Math.max(...dataTypes.map((name) => blueprint[name].n));
        return blueprint.nodes > largest
          ? { ok: true }
          : {
              ok: false,
              message: `${blueprint.nodes} nodes for N = ${largest}: with one node down, the keys it holds have no other node to stand in for it, and the sloppy quorum has nowhere to go`,
            };
      }),
    },
    {
      id: "11b",
      title: "cart: adds stay 99% available and none is lost, through crashes, partitions and skew",
      needs: "cluster",
      run: withBlueprint((blueprint, context) =>
        chaos(
          context,
          {
            workload: "cart",
            seed: context.seed,
            timeMs: 10_000,
            cluster: cluster(blueprint, blueprint.cart, "cart"),
            client: { concurrency: 5, retry: blueprint.cart.retry },
            nemesis: { faults: ["partition", "crash", "skew"], intervalMs: 3_000 },
            minimumAvailability: 0.99,
          },
          ["cart", "availability"],
          "the cart",
        ),
      ),
    },
    {
      id: "11c",
      title: "session: a read never misses an acknowledged write, through partitions",
      needs: "cluster",
      run: withBlueprint((blueprint, context) =>
        chaos(
          context,
          {
            workload: "cache-register",
            seed: context.seed,
            timeMs: 15_000,
            cluster: cluster(blueprint, blueprint.session, "cache-register"),
            client: { concurrency: 5, retry: blueprint.session.retry },
            nemesis: { faults: ["partition"], intervalMs: 5_000 },
            checkers: ["linearizable"],
          },
          ["linearizable"],
          "the session",
        ),
      ),
    },
    {
      id: "11d",
      title: "counter: every read lies within the increments' bounds, through partitions and skew",
      needs: "cluster",
      run: withBlueprint((blueprint, context) =>
        chaos(
          context,
          {
            workload: "counter",
            seed: context.seed,
            timeMs: 10_000,
            cluster: cluster(blueprint, blueprint.counter, "counter"),
            client: { concurrency: 5, retry: blueprint.counter.retry },
            nemesis: { faults: ["partition", "skew"], intervalMs: 5_000 },
          },
          ["counter"],
          "the counter",
        ),
      ),
    },
    {
      id: "11e",
      title: "counter: every increment counts once over flaky links",
      needs: "cluster",
      run: withBlueprint((blueprint, context) => {
        // Three nodes, each a primary of the counter: an increment is applied where it was sent.
        const plan = { ...blueprint.counter, n: Math.min(blueprint.counter.n, 3) };
        plan.r = Math.min(plan.r, plan.n);
        plan.w = Math.min(plan.w, plan.n);
        return chaos(
          context,
          {
            workload: "pn-counter",
            seed: context.seed,
            timeMs: 15_000,
            cluster: { ...cluster(blueprint, plan, "pn-counter", 3), pw: 0 },
            client: { concurrency: 10, retry: blueprint.counter.retry },
            nemesis: { faults: ["flaky"], intervalMs: 5_000 },
            checkers: ["counter"],
          },
          ["counter"],
          "the counter's increments",
        );
      }),
    },
    {
      id: "11f",
      title: `capacity: at three times a node's capacity, accepted requests are answered within ${answerWithinMs} ms`,
      needs: "pure",
      run: withBlueprint((blueprint, { seed }) => {
        const budget = blueprint.requestsInFlightMax;
        const outcome = queueModel(
          {
            admit: (input) =>
              defaultPolicies.admit({
                ...input,
                requestsInFlightMax: budget,
                partitionRequestsInFlightMax: budget,
              }),
          },
          seed,
          budget,
        );
        if (typeof outcome === "string") return { ok: false, message: outcome };
        const summary = `budget ${budget}: ${outcome.accepted} accepted, ${outcome.refused} refused, longest wait ${outcome.waitMaxMs.toFixed(0)} ms`;
        if (outcome.waitMaxMs > answerWithinMs)
          return {
            ok: false,
            message: `${summary}: every accepted request waits behind all the others a node holds (Little's law: budget x 10 ms)`,
          };
        if (outcome.accepted < 900)
          return {
            ok: false,
            message: `${summary}: the node sits idle while it refuses work it could serve`,
          };
        return { ok: true, detail: summary };
      }),
    },
    {
      id: "11g",
      title: "alarms: the operator is paged before availability falls below 99% in any second",
      needs: "cluster",
      run: withBlueprint((blueprint, context) =>
        pagedBeforeBreach(alarmModuleOf(blueprint), context.seed),
      ),
    },
  ],
  mistakes: {
    "three-nodes.ts": { fails: "11a", why: "no node left to stand in for a crashed one" },
    "lww-everywhere.ts": { fails: "11b", why: "last-write-wins drops concurrent adds to the cart" },
    "sloppy-sessions.ts": {
      fails: "11c",
      why: "a sloppy quorum reads stale sessions across a split",
    },
    "naive-retries.ts": { fails: "11e", why: "a re-sent increment counts twice" },
    "unbounded-budget.ts": {
      fails: "11f",
      why: "no back pressure: accepted requests wait seconds",
    },
    "page-late.ts": { fails: "11g", why: "paging on the second crash is paging on the outage" },
  },
});
