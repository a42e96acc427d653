// Lab 04, the ring: hash(SessionId) -> key range -> vnode -> node (the grader; browser-safe).
// The learner writes the claim and the preference list. The pure checks claim rings of several
// sizes (the talk's 32 vnodes on 4 nodes first) and compare preference lists with the walk;
// the cluster check runs both in every node of the talk's ring while clients write.

import type { Operation } from "../../chaos/harness/history.ts";
import { claim as referenceClaim, claimViolations } from "../../cluster/core/claim.ts";
import type { ClaimInput } from "../../cluster/core/policies.ts";
import {
  hashKey,
  preferenceList as referencePreferenceList,
  type PreferenceList,
  type Ring,
} from "../../cluster/core/ring.ts";
import type { NodeId } from "../../cluster/core/types.ts";
import { runFailure } from "../kit/evidence.ts";
import { callLearner, defineLab, requireFunctions, type CheckOutcome } from "../kit/lab.ts";
import { learnerPolicies } from "../kit/policies.ts";

export interface RingModule {
  claim(input: ClaimInput): NodeId[];
  preferenceList(ring: Ring, keyHash: bigint, replicaCount: number): PreferenceList;
}

/** The rings the claim is graded on: the talk's first, then sizes that find the usual slips
 * (Q mod S = 1 puts the wrap on one node; more nodes than N; a small ring). */
export const claimSizes: ReadonlyArray<{ nodes: number; partitionCount: number; targetN: number }> =
  [
    { nodes: 4, partitionCount: 32, targetN: 3 },
    { nodes: 5, partitionCount: 16, targetN: 3 },
    { nodes: 5, partitionCount: 64, targetN: 3 },
    { nodes: 7, partitionCount: 64, targetN: 3 },
    { nodes: 6, partitionCount: 64, targetN: 3 },
    { nodes: 8, partitionCount: 128, targetN: 3 },
    { nodes: 3, partitionCount: 8, targetN: 2 },
    { nodes: 2, partitionCount: 8, targetN: 3 },
  ];

const membersOf = (count: number) => Array.from({ length: count }, (_, index) => `n${index + 1}`);

function claimHistory(input: ClaimInput, answer: unknown): Operation[] {
  return [
    {
      index: 0,
      time: 0,
      process: 0,
      type: "invoke",
      f: "claim",
      value: { ...input, currentOwners: null },
    },
    {
      index: 1,
      time: 1,
      process: 0,
      type: "ok",
      f: "claim",
      value: (answer ?? null) as Operation["value"],
    },
  ];
}

/** Claims every size and asks `problem` about the owners (undefined: fine). */
function everyClaim(
  module: RingModule,
  problem: (owners: NodeId[], input: ClaimInput) => string | undefined,
  sizes = claimSizes,
): CheckOutcome {
  for (const { nodes, partitionCount, targetN } of sizes) {
    const input: ClaimInput = {
      members: membersOf(nodes),
      partitionCount,
      targetN,
      currentOwners: undefined,
    };
    const answer = callLearner("claim", () => module.claim(input));
    if (!answer.ok) return { ok: false, message: answer.message };
    const owners = answer.value;
    const where = `${nodes} nodes, Q=${partitionCount}, N=${targetN}`;
    if (!Array.isArray(owners) || owners.length !== partitionCount)
      return {
        ok: false,
        message: `${where}: claim returned ${Array.isArray(owners) ? owners.length : typeof owners} owners, expected ${partitionCount}`,
        history: claimHistory(input, owners),
      };
    const found = problem(owners, input);
    if (found !== undefined)
      return { ok: false, message: `${where}: ${found}`, history: claimHistory(input, owners) };
  }
  return { ok: true, detail: `${sizes.length} rings` };
}

function balanced(owners: NodeId[], { members, partitionCount }: ClaimInput): string | undefined {
  const stranger = owners.find((owner) => !members.includes(owner));
  if (stranger !== undefined)
    return `partition ${owners.indexOf(stranger)} is owned by ${JSON.stringify(stranger)}, not a member`;
  const floor = Math.floor(partitionCount / members.length);
  for (const member of members) {
    const owned = owners.filter((owner) => owner === member).length;
    if (owned < floor || owned > floor + 1)
      return `${member} owns ${owned} partitions; balanced is ${floor}${partitionCount % members.length === 0 ? "" : ` or ${floor + 1}`}`;
  }
  return undefined;
}

function spaced(owners: NodeId[], input: ClaimInput): string | undefined {
  const [first] = claimViolations(owners, input.targetN);
  if (first === undefined) return undefined;
  const span = first.owners
    .map((owner, offset) => `${(first.start + offset) % owners.length}:${owner}`)
    .join(" ");
  return `partitions ${span} are ${input.targetN} in a row but not on ${Math.min(input.targetN, input.members.length)} distinct nodes: a key there keeps two replicas on one machine`;
}

/** The sizes where spacing is possible (the reference claim achieves it). Worked out when 04b
 * runs, not when this file loads: every `neverstop` command imports it. */
let spaceableSizesFound: typeof claimSizes | undefined;
function spaceableSizes(): typeof claimSizes {
  spaceableSizesFound ??= claimSizes.filter(
    ({ nodes, partitionCount, targetN }) =>
      claimViolations(referenceClaim(membersOf(nodes), partitionCount, targetN), targetN).length ===
      0,
  );
  return spaceableSizesFound;
}

function preferenceListsMatch(module: RingModule, seed: number): CheckOutcome {
  const rings: Ring[] = [
    { partitionCount: 32, owners: referenceClaim(membersOf(4), 32, 3) },
    { partitionCount: 16, owners: referenceClaim(membersOf(5), 16, 3) },
    // A ring a bad claim could leave: neighbours on one node, and a node owning nothing.
    { partitionCount: 8, owners: ["n1", "n1", "n2", "n2", "n3", "n1", "n3", "n3"] },
    { partitionCount: 8, owners: ["n1", "n2", "n1", "n2", "n1", "n2", "n1", "n2"] },
  ];
  let count = 0;
  for (const ring of rings) {
    for (let index = 0; index < 50; index += 1) {
      const key = `session-${seed}-${index}`;
      const keyHash = hashKey("sessions", key);
      for (const replicaCount of [1, 3]) {
        count += 1;
        const expected = referencePreferenceList(ring, keyHash, replicaCount);
        const answer = callLearner("preferenceList", () =>
          module.preferenceList(ring, keyHash, replicaCount),
        );
        if (!answer.ok) return { ok: false, message: answer.message };
        if (JSON.stringify(answer.value) === JSON.stringify(expected)) continue;
        const value = {
          ring: ring.owners.join(" "),
          key,
          keyHash: `0x${keyHash.toString(16).padStart(40, "0")}`,
          replicaCount,
        };
        return {
          ok: false,
          message: `key ${key} (N=${replicaCount}) on ring [${ring.owners.join(" ")}]: expected primaries ${describe(expected)}, got ${describe(answer.value)}`,
          history: [
            { index: 0, time: 0, process: 0, type: "invoke", f: "preferenceList", value },
            {
              index: 1,
              time: 1,
              process: 0,
              type: "ok",
              f: "preferenceList",
              value: (answer.value ?? null) as unknown as Operation["value"],
            },
          ],
        };
      }
    }
  }
  return { ok: true, detail: `${count} keys` };
}

function describe(list: PreferenceList | undefined): string {
  if (typeof list !== "object" || list === null || !Array.isArray(list.primaries))
    return JSON.stringify(list);
  const primaries = list.primaries.map((entry) => `${entry.node}@${entry.partition}`).join(", ");
  return `[${primaries}] then [${Array.isArray(list.fallbacks) ? list.fallbacks.join(", ") : String(list.fallbacks)}]`;
}

export const lab04 = defineLab<RingModule>({
  id: "04",
  slug: "04-the-ring",
  title: "The ring: hash(SessionId) -> key range -> vnode -> node",
  learnerFile: "ring.ts",
  talkSlide: "hash(SessionId) -> key range -> vnode -> node (32 vnodes on 4 nodes)",
  paperSection:
    "Dynamo 4.2 (partitioning, virtual nodes) and 4.3 (replication, preference list); 6.2 (partitioning strategies)",
  validate: (module) =>
    requireFunctions(module, ["claim", "preferenceList"]) as unknown as RingModule,
  checks: [
    {
      id: "04a",
      title: "every node owns Q/S partitions (32 vnodes on 4 nodes: 8 each)",
      needs: "pure",
      run: ({ module }) => everyClaim(module, balanced),
    },
    {
      id: "04b",
      title: "any N consecutive partitions sit on N distinct nodes",
      needs: "pure",
      run: ({ module }) =>
        everyClaim(
          module,
          (owners, input) => balanced(owners, input) ?? spaced(owners, input),
          spaceableSizes(),
        ),
    },
    {
      id: "04c",
      title: "a key's replicas are the first N distinct nodes clockwise",
      needs: "pure",
      run: ({ module, seed }) => preferenceListsMatch(module, seed),
    },
    {
      id: "04d",
      title: "your ring answers real requests (4 nodes, 32 vnodes)",
      needs: "cluster",
      run: async ({ module, seed, learnerFile, runCluster }) => {
        const run = await runCluster(
          {
            workload: "set",
            seed,
            timeMs: 10_000,
            cluster: { nodes: 4, partitionCount: 32, n: 3, r: 2, w: 2 },
            client: { concurrency: 5 },
            nemesis: { faults: ["crash"], intervalMs: 4_000, durationMs: 2_000 },
          },
          learnerPolicies(
            { claim: module.claim, preferenceList: module.preferenceList },
            learnerFile,
            { claim: "claim", preferenceList: "preferenceList" },
          ),
        );
        const acknowledged = run.history.filter(
          (operation) => operation.type === "ok" && operation.f === "add",
        ).length;
        if (run.results.set?.valid !== true)
          return runFailure(
            run,
            "set",
            `the set checker says ${String(run.results.set?.valid)}: ${String(run.results.set?.reason)}`,
          );
        if (acknowledged === 0)
          return {
            ok: false,
            message: "no write was acknowledged: the nodes could not use your ring",
            run,
          };
        return {
          ok: true,
          detail: `${acknowledged} acknowledged adds through your ring, none lost`,
        };
      },
    },
  ],
  mistakes: {
    "hash-mod.ts": { fails: "04a", why: "hashing partitions to nodes is not balanced" },
    "contiguous-ranges.ts": {
      fails: "04b",
      why: "a node's partitions are neighbours, so a key's replicas share a node",
    },
    "round-robin.ts": { fails: "04b", why: "dealing like cards repeats a node at the wrap" },
    "repeats-nodes.ts": { fails: "04c", why: "the walk does not skip a node it has met" },
  },
});
