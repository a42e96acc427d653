// Lab 08, scaling out (the grader). The learner writes the rebalance a node runs when the
// members change: who owns each partition after a join or a leave. The pure checks replay
// joins and leaves on rings of 3 to 8 nodes and Q = 16 or 64 partitions and count what moved
// against the least that balance allows; the cluster check plugs the rebalance into every node
// (cluster/core/policies.ts's `claim`) and scales a loaded cluster out and back in.

import { claim as referenceClaim } from "../../cluster/core/claim.ts";
import { defaultPolicies, type PolicyOverrides } from "../../cluster/core/policies.ts";
import type { NodeId } from "../../cluster/core/types.ts";
import { runFailure } from "../kit/evidence.ts";
import { callLearner, defineLab, requireFunctions, type CheckOutcome } from "../kit/lab.ts";
import { policiesModuleSource, runWithPolicies } from "../shared-b/simulate-with.ts";

export interface RebalanceModule {
  rebalance(currentOwners: readonly NodeId[], members: readonly NodeId[]): NodeId[];
}

export interface Scenario {
  description: string;
  currentOwners: NodeId[];
  members: NodeId[];
}

const names = (count: number) => Array.from({ length: count }, (_, index) => `n${index + 1}`);

/**
 * Joins, leaves and a join with a leave, on rings claimed with the members in reverse order
 * (so that the members owning one partition more are the last by name, not the first).
 */
export function scenarios(): Scenario[] {
  const result: Scenario[] = [];
  for (const partitionCount of [16, 64]) {
    for (let size = 3; size <= 7; size += 1) {
      const before = names(size);
      const currentOwners = referenceClaim([...before].reverse(), partitionCount, 3);
      const ring = `${size} nodes, Q = ${partitionCount}`;
      const joined = [...before, `n${size + 1}`].sort();
      result.push({ description: `n${size + 1} joins ${ring}`, currentOwners, members: joined });
      for (const leaver of new Set([
        before[0]!,
        before[Math.floor(size / 2)]!,
        before[size - 1]!,
      ])) {
        const members = before.filter((node) => node !== leaver);
        result.push({ description: `${leaver} leaves ${ring}`, currentOwners, members });
      }
      const swapped = joined.filter((node) => node !== "n2");
      result.push({
        description: `n${size + 1} joins and n2 leaves ${ring}`,
        currentOwners,
        members: swapped,
      });
    }
  }
  return result;
}

/** The fewest owners that must change: every partition of a departed node, plus each member's
 * surplus over its target, with the ceil(Q/S) targets given to those that own the most. */
export function leastMoves(currentOwners: readonly NodeId[], members: readonly NodeId[]): number {
  const floor = Math.floor(currentOwners.length / members.length);
  const extra = currentOwners.length % members.length;
  const counts = members.map((member) => currentOwners.filter((owner) => owner === member).length);
  const sorted = [...counts].sort((a, b) => b - a);
  const kept = sorted.reduce(
    (sum, count, rank) => sum + Math.min(count, floor + (rank < extra ? 1 : 0)),
    0,
  );
  return currentOwners.length - kept;
}

type Judge = (scenario: Scenario, owners: NodeId[]) => string | undefined;

function everyScenario(module: RebalanceModule, judge: Judge): CheckOutcome {
  const all = scenarios();
  for (const scenario of all) {
    const answer = callLearner("rebalance", () =>
      module.rebalance([...scenario.currentOwners], [...scenario.members]),
    );
    if (!answer.ok) return { ok: false, message: `${scenario.description}: ${answer.message}` };
    const owners = answer.value;
    const problem = Array.isArray(owners)
      ? judge(scenario, owners)
      : `rebalance returned ${typeof owners}; expected an array of owners`;
    if (problem !== undefined) return { ok: false, message: `${scenario.description}: ${problem}` };
  }
  return { ok: true, detail: `${all.length} joins and leaves` };
}

const ownedByMembers: Judge = ({ currentOwners, members }, owners) => {
  if (owners.length !== currentOwners.length)
    return `returned ${owners.length} owners for ${currentOwners.length} partitions`;
  const stranger = owners.findIndex((owner) => !members.includes(owner));
  return stranger < 0
    ? undefined
    : `partition ${stranger} is owned by ${JSON.stringify(owners[stranger])}, not a member (${members.join(", ")}): its keys have no home`;
};

const balanced: Judge = (scenario, owners) => {
  const problem = ownedByMembers(scenario, owners);
  if (problem !== undefined) return problem;
  const { members } = scenario;
  const floor = Math.floor(owners.length / members.length);
  const counts = members.map(
    (member) => `${member}: ${owners.filter((owner) => owner === member).length}`,
  );
  const off = members.find((member) => {
    const count = owners.filter((owner) => owner === member).length;
    return count < floor || count > Math.ceil(owners.length / members.length);
  });
  return off === undefined
    ? undefined
    : `${off} owns a share off balance (${counts.join(", ")}); every member should own ${floor} or ${Math.ceil(owners.length / members.length)}`;
};

const leastMovement: Judge = (scenario, owners) => {
  const problem = balanced(scenario, owners);
  if (problem !== undefined) return problem;
  const moved = owners.filter((owner, index) => owner !== scenario.currentOwners[index]).length;
  const least = leastMoves(scenario.currentOwners, scenario.members);
  return moved === least
    ? undefined
    : `${moved} partitions changed owner where ${least} suffice for balance: every extra move is a handoff of data that did not need to travel`;
};

/** The learner's rebalance as the nodes' claim; the first ring stays the reference claim. */
export function rebalancePolicies(module: RebalanceModule): PolicyOverrides {
  return {
    claim: (input) =>
      input.currentOwners === undefined
        ? defaultPolicies.claim(input)
        : module.rebalance(input.currentOwners, input.members),
  };
}

const policiesModule = new URL("../../cluster/core/policies.ts", import.meta.url).pathname;
const buildPolicies = `(learner) => ({
  claim: (input) => input.currentOwners === undefined
    ? defaultPolicies.claim(input)
    : learner.rebalance(input.currentOwners, input.members),
})`;

export const lab08 = defineLab<RebalanceModule>({
  id: "08",
  slug: "08-scaling-out",
  title: "Scaling out: rebalancing the ring on join and leave",
  learnerFile: "rebalance.ts",
  talkSlide: "Scaling out: distribute for scale, replicate for availability",
  paperSection: "Dynamo 4.9 (adding and removing storage nodes), 6.2 (partitioning strategies)",
  validate: (module) => requireFunctions(module, ["rebalance"]) as unknown as RebalanceModule,
  checks: [
    {
      id: "08a",
      title: "every partition is owned by a member",
      needs: "pure",
      run: ({ module }) => everyScenario(module, ownedByMembers),
    },
    {
      id: "08b",
      title: "the ring stays balanced: floor(Q/S) or ceil(Q/S) partitions each",
      needs: "pure",
      run: ({ module }) => everyScenario(module, balanced),
    },
    {
      id: "08c",
      title: "least movement: only the partitions balance requires change owner",
      needs: "pure",
      run: ({ module }) => everyScenario(module, leastMovement),
    },
    {
      id: "08d",
      title: "nodes join and leave under load, and no acknowledged add is lost",
      needs: "cluster",
      run: async (context) => {
        context.note("set workload, join and leave faults");
        const source = policiesModuleSource(context.learnerFile, buildPolicies, [
          `import { defaultPolicies } from ${JSON.stringify(policiesModule)};`,
        ]);
        const run = await runWithPolicies(
          context,
          {
            workload: "set",
            seed: context.seed,
            timeMs: 12_000,
            client: { concurrency: 5 },
            nemesis: { faults: ["join", "leave"], intervalMs: 6_000, durationMs: 4_000 },
          },
          rebalancePolicies(context.module),
          source,
        );
        const verdict = run.results.set!;
        if (verdict.valid === true && run.summary.ok > 0)
          return {
            ok: true,
            detail: `${run.summary.ok} ok, set valid across ${run.schedule.length} ring changes`,
          };
        return runFailure(
          run,
          "set",
          `the set checker: ${String(verdict.reason ?? verdict.valid)}`,
        );
      },
    },
  ],
  mistakes: {
    "deal-again.ts": { fails: "08c", why: "dealing the ring again moves nearly every partition" },
    "take-from-one.ts": { fails: "08b", why: "one member gives or takes every moved partition" },
    "keeps-leaver.ts": { fails: "08a", why: "a leaving node keeps its partitions" },
    "ceil-to-first.ts": {
      fails: "08c",
      why: "the extra partitions go to the first names, not the fullest",
    },
  },
});
