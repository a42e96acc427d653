// Lab 05, systems that never stop: you need at least two computers (the grader; browser-safe).
// Part 1: the learner chooses the sloppy quorum's targets; the pure checks walk every way up to
// two of five nodes can be down, and the cluster check crashes a node while W = N = 3 writes
// must still land (on fallbacks, with hints). Part 2: the learner's N, R and W, checked on paper
// against the stated targets, then run under crashes with sync "never".

import type { Operation } from "../../chaos/harness/history.ts";
import type { RunResult } from "../../chaos/harness/run-core.ts";
import type { SloppyQuorumInput, WriteTarget } from "../../cluster/core/policies.ts";
import { runFailure } from "../kit/evidence.ts";
import {
  callLearner,
  defineLab,
  LabInputError,
  requireFunctions,
  type CheckContext,
  type CheckOutcome,
} from "../kit/lab.ts";
import { learnerPolicies } from "../kit/policies.ts";

interface Replication {
  n: number;
  r: number;
  w: number;
}

interface SloppyModule {
  sloppyQuorumTargets(input: SloppyQuorumInput): WriteTarget[];
  replication: Replication;
}

export const clusterNodes = 5;
export const availabilityMin = 0.95;

function validate(module: Record<string, unknown>): SloppyModule {
  requireFunctions(module, ["sloppyQuorumTargets"]);
  const replication = module.replication as Partial<Replication> | undefined;
  if (typeof replication !== "object" || replication === null)
    throw new LabInputError("the file must export an object `replication` = { n, r, w }");
  return module as unknown as SloppyModule;
}

/** Every way the coordinator may see the other nodes: 5 nodes, up to 2 believed down. */
export function* situations(): Generator<{
  primaries: string[];
  fallbacks: string[];
  down: string[];
  pw: number;
}> {
  const nodes = ["n1", "n2", "n3", "n4", "n5"];
  for (let rotation = 0; rotation < nodes.length; rotation += 1) {
    const order = [...nodes.slice(rotation), ...nodes.slice(0, rotation)];
    const primaries = order.slice(0, 3);
    const fallbacks = order.slice(3);
    for (let mask = 0; mask < 32; mask += 1) {
      const down = nodes.filter((_, index) => (mask >> index) & 1);
      if (down.length > 2) continue;
      for (const pw of [0, 3]) yield { primaries, fallbacks, down, pw };
    }
  }
}

/** What is wrong with `targets` for `situation`, or undefined. */
export function targetProblem(
  situation: { primaries: string[]; fallbacks: string[]; down: string[]; pw: number },
  targets: unknown,
  rule: "replace" | "distinct",
): string | undefined {
  const { primaries, fallbacks, down, pw } = situation;
  if (!Array.isArray(targets) || targets.length !== primaries.length)
    return `expected ${primaries.length} targets, one per primary, got ${JSON.stringify(targets)}`;
  const list = targets as WriteTarget[];
  if (rule === "distinct") {
    const nodes = list.map((target) => target.node);
    const twice = nodes.find((node, index) => nodes.indexOf(node) !== index);
    return twice === undefined
      ? undefined
      : `${twice} is a target twice: two copies on one node are one copy`;
  }
  const healthySpare = fallbacks.filter((node) => !down.includes(node));
  let spareLeft = healthySpare.length;
  for (const [index, primary] of primaries.entries()) {
    const target = list[index]!;
    const primaryDown = down.includes(primary);
    if (!primaryDown || pw >= primaries.length) {
      if (target.node !== primary || target.hintFor !== undefined)
        return primaryDown
          ? `with PW = ${pw} only primaries count, yet ${primary} is replaced by ${JSON.stringify(target)}`
          : `${primary} is up, yet its target is ${JSON.stringify(target)}`;
      continue;
    }
    if (spareLeft === 0) continue; // no fallback left: the primary may stay
    if (target.node === primary)
      return `${primary} is down and ${healthySpare.join(", ")} could stand in, yet the write still goes to ${primary}`;
    if (!healthySpare.includes(target.node))
      return `${primary} is down and its stand-in ${target.node} is not a healthy fallback`;
    if (target.hintFor !== primary)
      return `${target.node} stands in for ${primary} without a hint naming it: it will never hand the write over`;
    spareLeft -= 1;
  }
  return undefined;
}

function everySituation(module: SloppyModule, rule: "replace" | "distinct"): CheckOutcome {
  let count = 0;
  for (const situation of situations()) {
    count += 1;
    const input: SloppyQuorumInput = {
      primaries: situation.primaries,
      fallbacks: situation.fallbacks,
      isUp: (node) => !situation.down.includes(node),
      pw: situation.pw,
    };
    const answer = callLearner("sloppyQuorumTargets", () => module.sloppyQuorumTargets(input));
    const problem = answer.ok ? targetProblem(situation, answer.value, rule) : answer.message;
    if (problem === undefined) continue;
    const history: Operation[] = [
      {
        index: 0,
        time: 0,
        process: "nemesis",
        type: "info",
        f: "believed-down",
        value: situation.down,
      },
      {
        index: 1,
        time: 1,
        process: 0,
        type: "invoke",
        f: "sloppyQuorumTargets",
        value: { primaries: situation.primaries, fallbacks: situation.fallbacks, pw: situation.pw },
      },
      {
        index: 2,
        time: 2,
        process: 0,
        type: answer.ok ? "ok" : "fail",
        f: "sloppyQuorumTargets",
        value: (answer.ok ? answer.value : answer.message) as Operation["value"],
      },
    ];
    const downText =
      situation.down.length === 0 ? "nobody down" : `${situation.down.join(", ")} down`;
    return {
      ok: false,
      message: `primaries ${situation.primaries.join(", ")} with ${downText}${situation.pw > 0 ? `, PW=${situation.pw}` : ""}: ${problem}`,
      history,
    };
  }
  return { ok: true, detail: `${count} situations` };
}

/** Requests that succeeded, of those sent to a node that was up: a client whose own node is
 * down is refused at once and would try another node; the cluster's availability is what the
 * nodes that are up can still do. */
export function availability(run: RunResult): number {
  const crashed = new Set<string>();
  const invokedOnDownNode = new Set<number>();
  let counted = 0;
  let ok = 0;
  for (const operation of run.history) {
    const node = (operation.value as { node?: unknown } | null)?.node;
    if (operation.process === "nemesis") {
      if (operation.type === "info" && operation.f === "start-crash" && typeof node === "string")
        crashed.add(node);
      if (operation.type === "info" && operation.f === "stop-crash" && typeof node === "string")
        crashed.delete(node);
      continue;
    }
    if (operation.type === "invoke") {
      if (operation.node !== undefined && crashed.has(operation.node))
        invokedOnDownNode.add(operation.process);
      else invokedOnDownNode.delete(operation.process);
      continue;
    }
    if (invokedOnDownNode.has(operation.process)) continue;
    counted += 1;
    if (operation.type === "ok") ok += 1;
  }
  return counted === 0 ? 0 : ok / counted;
}

function onPaper({ n, r, w }: Replication): string | undefined {
  for (const [name, value] of Object.entries({ n, r, w }))
    if (!Number.isSafeInteger(value) || value < 1)
      return `${name} must be a positive integer, got ${String(value)}`;
  if (r > n || w > n) return `R (${r}) and W (${w}) cannot exceed N (${n})`;
  if (n > clusterNodes) return `N = ${n}: a key is stored more than ${clusterNodes} times`;
  if (w < 2)
    return `W = ${w}: an acknowledged write may exist on one node only, and a crash with sync "never" loses it`;
  if (r + w <= n)
    return `R + W = ${r + w} <= N = ${n}: a read quorum can miss every replica of the last write`;
  return undefined;
}

/** A 10-second run of `workload` on 5 nodes while one node at a time crashes. */
function underCrashes(
  context: { module: SloppyModule; seed: number; learnerFile: string | undefined },
  runCluster: CheckContext<unknown>["runCluster"],
  workload: "set" | "register",
  cluster: Replication,
): Promise<RunResult> {
  return runCluster(
    {
      workload,
      seed: context.seed,
      timeMs: 10_000,
      cluster: { nodes: clusterNodes, ...cluster, sync: "always" },
      client: { concurrency: 5, keyCount: 10 },
      nemesis: { faults: ["crash"], intervalMs: 2_500, durationMs: 2_000 },
      // The register workload is here for its many keys (some owned by the crashed node), not
      // for linearizability, which Dynamo does not promise.
      checkers: workload === "set" ? ["set"] : [],
    },
    learnerPolicies(
      { sloppyQuorumTargets: context.module.sloppyQuorumTargets },
      context.learnerFile,
      { sloppyQuorumTargets: "sloppyQuorumTargets" },
    ),
  );
}

export const lab05 = defineLab<SloppyModule>({
  id: "05",
  slug: "05-systems-that-never-stop",
  title: "Systems that never stop: sloppy quorum and N, R, W",
  learnerFile: "sloppy-quorum.ts",
  talkSlide: "Systems that never stop: you need at least two computers",
  paperSection:
    "Dynamo 4.6 (handling temporary failures: sloppy quorum, hinted handoff) and 6 (N, R, W in practice)",
  validate,
  checks: [
    {
      id: "05a",
      title: "a down primary's copy goes to a healthy fallback, with a hint",
      needs: "pure",
      run: ({ module }) => everySituation(module, "replace"),
    },
    {
      id: "05b",
      title: "a node is never a target twice",
      needs: "pure",
      run: ({ module }) => everySituation(module, "distinct"),
    },
    {
      id: "05c",
      title: "writes stay available while a node is down (W = N = 3)",
      needs: "cluster",
      run: async ({ module, seed, learnerFile, runCluster }) => {
        const run = await underCrashes({ module, seed, learnerFile }, runCluster, "register", {
          n: 3,
          r: 1,
          w: 3,
        });
        const measured = availability(run);
        if (measured < availabilityMin)
          return {
            ok: false,
            message: `only ${(measured * 100).toFixed(1)}% of requests succeeded while a node was down (at least ${availabilityMin * 100}% wanted)`,
            run,
          };
        return { ok: true, detail: `${(measured * 100).toFixed(1)}% of requests succeeded` };
      },
    },
    {
      id: "05d",
      title: "your N, R, W meet the targets on paper (durable, read your writes, at most 5 copies)",
      needs: "pure",
      run: ({ module }): CheckOutcome => {
        const problem = onPaper(module.replication);
        return problem === undefined
          ? { ok: true, detail: JSON.stringify(module.replication) }
          : { ok: false, message: problem };
      },
    },
    {
      id: "05e",
      title: "your N, R, W keep every acknowledged write and 95% availability under crashes",
      needs: "cluster",
      run: async ({ module, seed, learnerFile, runCluster }) => {
        const { n, r, w } = module.replication;
        const run = await underCrashes({ module, seed, learnerFile }, runCluster, "set", {
          n,
          r,
          w,
        });
        if (run.results.set?.valid !== true)
          return runFailure(
            run,
            "set",
            `with N=${n} R=${r} W=${w}, the set checker says ${String(run.results.set?.valid)}: ${String(run.results.set?.reason)}`,
          );
        const measured = availability(run);
        if (measured < availabilityMin)
          return {
            ok: false,
            message: `with N=${n} R=${r} W=${w}, only ${(measured * 100).toFixed(1)}% of requests succeeded under crashes`,
            run,
          };
        return {
          ok: true,
          detail: `N=${n} R=${r} W=${w}: nothing lost, ${(measured * 100).toFixed(1)}% available`,
        };
      },
    },
  ],
  mistakes: {
    "no-hint.ts": { fails: "05a", why: "the fallback does not know whose write it keeps" },
    "same-fallback-twice.ts": { fails: "05b", why: "two down primaries share one fallback" },
    "strict-quorum.ts": {
      fails: "05c",
      why: "no fallback: a W = N write fails while a primary is down",
    },
    "w-one.ts": { fails: "05d", why: "W = 1 is neither durable nor read-your-writes" },
  },
});
